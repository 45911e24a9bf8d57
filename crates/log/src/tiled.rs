//! A partner's tree read from its published tiles, fetching only the tiles a computation
//! needs (C2SP tlog-tiles, with the authentication of
//! <https://research.swtch.com/tlog#authenticating_tiles>): every tile used is checked
//! against the root of the partner's signed checkpoint before any hash in it is believed.
//!
//! The fetching is the caller's (it is asynchronous and over the network): run the
//! computation; if it fails for want of tiles, [`TiledTree::take_missing`] says which, add
//! them with [`TiledTree::add_tile`], and run it again. A consistency proof between any two
//! sizes needs a few tiles per tile level, so a pull downloads a few kilobytes however long
//! the partner's log is.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use tlog_tiles::{Hash, Tile, TileHashReader, TileReader};

use crate::error::{StorageError, TileError, TreeError};
use crate::tile::{TileId, TILE_HEIGHT};
use crate::tree::{HashReader, MAX_TREE_SIZE};

/// The hashes of a tree of known size and root, read from the tiles added so far.
#[derive(Debug)]
pub struct TiledTree {
    size: u64,
    root: Hash,
    tiles: RefCell<HashMap<TileId, Vec<u8>>>,
    missing: RefCell<BTreeSet<TileId>>,
}

impl TiledTree {
    /// The tree of `size` leaves whose root is `root` (from a verified checkpoint).
    ///
    /// # Errors
    /// [`TreeError::SizeTooLarge`] above [`MAX_TREE_SIZE`].
    pub fn new(size: u64, root: Hash) -> Result<Self, TreeError> {
        if size > MAX_TREE_SIZE {
            return Err(TreeError::SizeTooLarge(size));
        }
        Ok(Self {
            size,
            root,
            tiles: RefCell::new(HashMap::new()),
            missing: RefCell::new(BTreeSet::new()),
        })
    }

    /// Adds a fetched tile (it is authenticated when used, not here).
    ///
    /// # Errors
    /// [`TileError::NotInTree`] for a tile this tree does not publish, or data that is not
    /// its width in hashes.
    pub fn add_tile(&self, tile: TileId, data: Vec<u8>) -> Result<(), TileError> {
        if !tile.in_tree(self.size) || data.len() != usize::from(tile.width()) * 32 {
            return Err(TileError::NotInTree {
                path: tile.path(),
                size: self.size,
            });
        }
        self.tiles.borrow_mut().insert(tile, data);
        Ok(())
    }

    /// The tiles the last computations wanted and did not have (and forgets them).
    pub fn take_missing(&self) -> Vec<TileId> {
        std::mem::take(&mut *self.missing.borrow_mut())
            .into_iter()
            .collect()
    }

    /// How many tiles are held.
    pub fn tiles_held(&self) -> usize {
        self.tiles.borrow().len()
    }
}

/// Serves the held tiles to `tlog_tiles`, noting the ones it lacks.
struct Held<'a>(&'a TiledTree);

impl TileReader for Held<'_> {
    fn height(&self) -> u8 {
        TILE_HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        let held = self.0.tiles.borrow();
        let mut out = Vec::with_capacity(tiles.len());
        let mut lacking = false;
        for t in tiles {
            let id = u16::try_from(t.width())
                .ok()
                .and_then(|w| TileId::hashes(t.level(), t.level_index(), w).ok())
                .ok_or(tlog_tiles::Error::BadMath)?;
            match held.get(&id) {
                Some(d) => out.push(d.clone()),
                None => {
                    self.0.missing.borrow_mut().insert(id);
                    lacking = true;
                }
            }
        }
        if lacking {
            return Err(tlog_tiles::Error::IndexesNotInTree);
        }
        Ok(out)
    }

    fn save_tiles(&self, _tiles: &[Tile], _data: &[Vec<u8>]) {}
}

impl HashReader for TiledTree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, StorageError> {
        let held = Held(self);
        let reader = TileHashReader::new(self.size, self.root, &held);
        tlog_tiles::HashReader::read_hashes(&reader, indexes).map_err(|e| {
            if self.missing.borrow().is_empty() {
                StorageError::new(format!(
                    "the tiles do not reproduce the root of the tree of size {}: {e}",
                    self.size
                ))
            } else {
                StorageError::new("tiles needed")
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::tile::{new_tiles, tile_data, TileKind};
    use crate::tree::{prove_consistency, root, verify_consistency, MemoryTree};

    fn tree(n: u64) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..n {
            t.append(&i.to_be_bytes()).unwrap();
        }
        t
    }

    /// Runs the fetch loop of a client against `published` (the partner's tree).
    fn proof_via_tiles(
        published: &MemoryTree,
        old: u64,
        size: u64,
        tamper: bool,
    ) -> (Result<Vec<Hash>, TreeError>, usize) {
        let remote = TiledTree::new(size, root(size, published).unwrap()).unwrap();
        for _ in 0..16 {
            match prove_consistency(old, size, &remote) {
                Ok(p) => return (Ok(p), remote.tiles_held()),
                Err(e) => {
                    let need = remote.take_missing();
                    if need.is_empty() {
                        return (Err(e), remote.tiles_held());
                    }
                    for t in need {
                        let mut data = tile_data(&t, size, published).unwrap();
                        if tamper {
                            data[0] ^= 1;
                        }
                        remote.add_tile(t, data).unwrap();
                    }
                }
            }
        }
        panic!("no proof after 16 rounds")
    }

    #[test]
    fn proofs_from_fetched_tiles_equal_those_from_the_whole_tree() {
        let published = tree(70_000);
        for (old, size) in [
            (1, 2),
            (3, 257),
            (256, 512),
            (1000, 65_536),
            (65_537, 70_000),
            (5, 70_000),
        ] {
            let (proof, held) = proof_via_tiles(&published, old, size, false);
            let proof = proof.unwrap();
            assert_eq!(proof, prove_consistency(old, size, &published).unwrap());
            verify_consistency(
                old,
                root(old, &published).unwrap(),
                size,
                root(size, &published).unwrap(),
                &proof,
            )
            .unwrap();
            // A few tiles per level, never the whole tree (274 level-0 tiles at 70,000).
            assert!(held <= 12, "{old}->{size}: {held} tiles");
        }
        let all = new_tiles(0, 70_000)
            .into_iter()
            .filter(|t| t.kind() == (TileKind::Hashes { level: 0 }))
            .count();
        assert!(all > 200);
    }

    #[test]
    fn tampered_tiles_are_caught_against_the_root() {
        let published = tree(3000);
        let (proof, _) = proof_via_tiles(&published, 1000, 3000, true);
        let err = proof.unwrap_err().to_string();
        assert!(err.contains("do not reproduce the root"), "{err}");
        // A tile of the wrong width is refused before use.
        let remote = TiledTree::new(3000, root(3000, &published).unwrap()).unwrap();
        let t = TileId::hashes(0, 0, 256).unwrap();
        assert!(remote.add_tile(t, vec![0; 31]).is_err());
        let beyond = TileId::hashes(0, 100, 256).unwrap();
        assert!(remote.add_tile(beyond, vec![0; 256 * 32]).is_err());
    }
}
