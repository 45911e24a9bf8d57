//! C2SP tlog-tiles ("Merkle Tree" and "Log entries" sections): tile paths, which tiles a
//! tree of a given size publishes, hash tile contents from stored hashes, and entry bundles.
//! Tiles have height 8 (256 hashes). Paths are partner input: parsing accepts only the
//! canonical form, so one tile has one path.

use std::fmt;

use tlog_tiles::{Tile, HASH_SIZE};

use crate::error::TileError;
use crate::tree::{leaf_hash, Adapter, HashReader, MAX_TREE_SIZE};

/// Tile height fixed by C2SP tlog-tiles: each tile spans 8 levels of the tree.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u16 = 256;
/// The highest tile level a path may name (C2SP tlog-tiles: "between 0 and 63").
pub const MAX_TILE_LEVEL: u8 = 63;
/// The longest path [`TileId::parse`] reads.
const MAX_PATH_LEN: usize = 64;

/// What a tile holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// Merkle tree hashes at tile level `level` (tree level `8 * level`): `tile/<L>/<N>`.
    Hashes {
        /// The tile level.
        level: u8,
    },
    /// An entry bundle: the log entries under level 0 tile `N`: `tile/entries/<N>`.
    Entries,
}

/// One tile: kind, index within its level, and width (1 to 256; below 256 it is partial).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    kind: TileKind,
    index: u64,
    width: u16,
}

impl TileId {
    /// A hash tile.
    ///
    /// # Errors
    /// Level above 63 or width outside 1..=256.
    pub fn hashes(level: u8, index: u64, width: u16) -> Result<Self, TileError> {
        Self::new(TileKind::Hashes { level }, index, width)
    }

    /// An entry bundle.
    ///
    /// # Errors
    /// Width outside 1..=256.
    pub fn entries(index: u64, width: u16) -> Result<Self, TileError> {
        Self::new(TileKind::Entries, index, width)
    }

    fn new(kind: TileKind, index: u64, width: u16) -> Result<Self, TileError> {
        let t = Self { kind, index, width };
        if let TileKind::Hashes { level } = kind {
            if level > MAX_TILE_LEVEL {
                return Err(TileError::MalformedPath(t.path()));
            }
        }
        if !(1..=TILE_WIDTH).contains(&width) {
            return Err(TileError::MalformedPath(t.path()));
        }
        Ok(t)
    }

    /// What the tile holds.
    pub fn kind(&self) -> TileKind {
        self.kind
    }

    /// The tile's index within its level (`N`).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// How many hashes or entries the tile holds (`W`, or 256 when full).
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Whether the tile is partial (fewer than 256 hashes or entries).
    pub fn is_partial(&self) -> bool {
        self.width < TILE_WIDTH
    }

    fn level(&self) -> u8 {
        match self.kind {
            TileKind::Hashes { level } => level,
            TileKind::Entries => 0,
        }
    }

    /// The smallest tree size that holds this tile: `(N * 256 + W) * 256^L` leaves, or `None`
    /// past `u64`.
    fn min_tree_size(&self) -> Option<u64> {
        let span = 256u128.checked_pow(u32::from(self.level()))?;
        let hashes = u128::from(self.index) * 256 + u128::from(self.width);
        u64::try_from(hashes.checked_mul(span)?).ok()
    }

    /// Whether a tree of `size` leaves contains this tile (C2SP tlog-tiles, "Partial Tiles":
    /// tiles are immutable, so a tile exists in every tree at least this large).
    pub fn in_tree(&self, size: u64) -> bool {
        self.min_tree_size().is_some_and(|min| min <= size)
    }

    /// The path, without the log's URL prefix: `tile/<L>/<N>[.p/<W>]` or
    /// `tile/entries/<N>[.p/<W>]`, `N` in 3-digit elements all but the last prefixed `x`.
    pub fn path(&self) -> String {
        self.to_string()
    }

    /// Parses a path relative to the log's prefix, accepting only the canonical form.
    ///
    /// # Errors
    /// [`TileError::MalformedPath`].
    pub fn parse(path: &str) -> Result<Self, TileError> {
        let bad = || TileError::MalformedPath(path.chars().take(MAX_PATH_LEN).collect());
        if path.len() > MAX_PATH_LEN || !path.is_ascii() {
            return Err(bad());
        }
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let (level, rest) = rest.split_once('/').ok_or_else(bad)?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            TileKind::Hashes {
                level: parse_decimal(level).ok_or_else(bad)?,
            }
        };
        let (n, width) = match rest.split_once(".p/") {
            Some((n, w)) => {
                let w: u16 = parse_decimal(w).ok_or_else(bad)?;
                if w >= TILE_WIDTH {
                    return Err(bad());
                }
                (n, w)
            }
            None => (rest, TILE_WIDTH),
        };
        let mut index: u64 = 0;
        for element in n.split('/') {
            let digits = element.strip_prefix('x').unwrap_or(element);
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let d: u64 = digits.parse().map_err(|_| bad())?;
            index = index
                .checked_mul(1000)
                .and_then(|i| i.checked_add(d))
                .ok_or_else(bad)?;
        }
        let tile = Self::new(kind, index, width).map_err(|_| bad())?;
        // Canonical form only: re-encoding must give the same text (this rejects a missing
        // or misplaced `x`, leading `x000/` elements and leading zeros in L and W).
        if tile.path() != path {
            return Err(bad());
        }
        Ok(tile)
    }

    /// The entry bundle that goes with a level 0 hash tile, and the other way round.
    pub fn counterpart(&self) -> Option<Self> {
        match self.kind {
            TileKind::Hashes { level: 0 } => Some(Self {
                kind: TileKind::Entries,
                ..*self
            }),
            TileKind::Entries => Some(Self {
                kind: TileKind::Hashes { level: 0 },
                ..*self
            }),
            TileKind::Hashes { .. } => None,
        }
    }
}

fn parse_decimal<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TileKind::Hashes { level } => write!(f, "tile/{level}/")?,
            TileKind::Entries => f.write_str("tile/entries/")?,
        }
        // C2SP tlog-tiles: "<N> ... encoded into zero-padded 3-digit path elements. All but
        // the last path element MUST begin with an x".
        let mut groups = vec![self.index % 1000];
        let mut n = self.index / 1000;
        while n > 0 {
            groups.push(n % 1000);
            n /= 1000;
        }
        for (i, g) in groups.iter().rev().enumerate() {
            if i + 1 < groups.len() {
                write!(f, "x{g:03}/")?;
            } else {
                write!(f, "{g:03}")?;
            }
        }
        if self.is_partial() {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

/// The tiles a log publishes when it grows from `old` to `new` leaves: every hash tile that
/// is new or wider, level by level, then the entry bundles beside the level 0 tiles
/// (C2SP tlog-tiles, "Partial Tiles": the partial tile at level `l` for size `s` has
/// `floor(s / 256^l) mod 256` hashes).
pub fn new_tiles(old: u64, new: u64) -> Vec<TileId> {
    let mut tiles = Vec::new();
    let mut entries = Vec::new();
    let mut span: u128 = 1;
    let mut level: u8 = 0;
    while u128::from(new) >= span && level <= MAX_TILE_LEVEL {
        // Both quotients fit in u64 since span >= 1.
        let old_n = (u128::from(old) / span) as u64;
        let new_n = (u128::from(new) / span) as u64;
        if old_n < new_n {
            let mut push = |index: u64, width: u16| {
                tiles.push(TileId {
                    kind: TileKind::Hashes { level },
                    index,
                    width,
                });
                if level == 0 {
                    entries.push(TileId {
                        kind: TileKind::Entries,
                        index,
                        width,
                    });
                }
            };
            for index in old_n / 256..new_n / 256 {
                push(index, TILE_WIDTH);
            }
            let width = (new_n % 256) as u16;
            if width > 0 {
                push(new_n / 256, width);
            }
        }
        span *= 256;
        level += 1;
    }
    tiles.extend(entries);
    tiles
}

/// The contents of hash tile `tile` in the tree of `size` leaves: its `W` hashes, 32 bytes
/// each. The tile's hash at position `i` is the Merkle Tree Hash of leaves
/// `[(N*256 + i) * 256^L, (N*256 + i + 1) * 256^L)` (C2SP tlog-tiles, "Merkle Tree").
///
/// # Errors
/// [`TileError::NotInTree`] for an entry bundle or a tile the tree does not have yet;
/// storage failures.
pub fn tile_data(tile: &TileId, size: u64, r: &impl HashReader) -> Result<Vec<u8>, TileError> {
    let TileKind::Hashes { level } = tile.kind else {
        return Err(TileError::NotInTree {
            path: tile.path(),
            size,
        });
    };
    if size > MAX_TREE_SIZE || !tile.in_tree(size) {
        return Err(TileError::NotInTree {
            path: tile.path(),
            size,
        });
    }
    // in_tree with size <= 2^56 bounds level to 7, so 8 * level fits in a u8 and the
    // library's tile constructor gets valid values.
    let t = Tile::new(TILE_HEIGHT, level, tile.index, u32::from(tile.width), false);
    let a = Adapter::new(r);
    let result = t.read_data(&a);
    a.finish(result).map_err(TileError::Tree)
}

/// Encodes an entry bundle: each entry as a big-endian u16 length then its bytes (C2SP
/// tlog-tiles, "Log entries").
///
/// # Errors
/// [`TileError::EntryTooLarge`] for an entry over 65535 bytes.
pub fn encode_entry_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.as_ref().len() + 2).sum());
    for e in entries {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes an entry bundle into its entries; at most 256 are accepted.
///
/// # Errors
/// [`TileError::MalformedBundle`] if cut short or holding more than 256 entries.
pub fn decode_entry_bundle(bytes: &[u8]) -> Result<Vec<Vec<u8>>, TileError> {
    let mut entries = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if entries.len() == usize::from(TILE_WIDTH) {
            return Err(TileError::MalformedBundle);
        }
        let (len, tail) = rest.split_at_checked(2).ok_or(TileError::MalformedBundle)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let (entry, tail) = tail
            .split_at_checked(len)
            .ok_or(TileError::MalformedBundle)?;
        entries.push(entry.to_vec());
        rest = tail;
    }
    Ok(entries)
}

/// Checks that the entries of bundle `tile` hash to the leaf hashes in the level 0 tile
/// `level0` of the same index (C2SP tlog-tiles: "Each entry in a bundle hashes to the
/// corresponding entry in the corresponding level 0 Merkle Tree tile"). Authenticate
/// `level0` against a checkpoint first; then this authenticates the entries.
///
/// # Errors
/// [`TileError::LeafMismatch`] naming the first changed entry; [`TileError::BadLength`] if
/// the counts differ.
pub fn verify_entry_bundle(
    tile: &TileId,
    entries: &[Vec<u8>],
    level0: &[u8],
) -> Result<(), TileError> {
    let width = usize::from(tile.width);
    if tile.kind != TileKind::Entries || entries.len() != width {
        return Err(TileError::BadLength {
            got: entries.len(),
            expected: width,
        });
    }
    if level0.len() != width * HASH_SIZE {
        return Err(TileError::BadLength {
            got: level0.len(),
            expected: width * HASH_SIZE,
        });
    }
    for (i, (entry, h)) in entries
        .iter()
        .zip(level0.chunks_exact(HASH_SIZE))
        .enumerate()
    {
        if leaf_hash(entry).0.as_slice() != h {
            return Err(TileError::LeafMismatch {
                index: tile.index * 256 + i as u64,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{root, MemoryTree};
    use tlog_tiles::Hash;

    #[test]
    fn paths_follow_the_spec_examples() {
        // C2SP tlog-tiles: "index 1234067 will be encoded as x001/x234/067".
        let t = TileId::hashes(0, 1_234_067, 256).unwrap();
        assert_eq!(t.path(), "tile/0/x001/x234/067");
        assert_eq!(
            TileId::hashes(1, 1_234_067, 17).unwrap().path(),
            "tile/1/x001/x234/067.p/17"
        );
        assert_eq!(
            TileId::entries(0, 112).unwrap().path(),
            "tile/entries/000.p/112"
        );
        assert_eq!(
            TileId::hashes(2, 1000, 256).unwrap().path(),
            "tile/2/x001/000"
        );
    }

    #[test]
    fn canonical_paths_round_trip_and_others_are_refused() {
        for p in [
            "tile/0/000",
            "tile/0/x001/x234/067",
            "tile/63/999.p/255",
            "tile/entries/x018/x446/x744/x073/x709/x551/615",
            "tile/entries/001.p/1",
        ] {
            assert_eq!(TileId::parse(p).unwrap().path(), p, "{p}");
        }
        for p in [
            "",
            "tile/0/1",
            "tile/0/001/002",
            "tile/0/x000/001",
            "tile/00/001",
            "tile/64/001",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/01",
            "tile/0/x1234/001",
            "tile/data/001",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tile/0/001/",
            "/tile/0/001",
            "tile/entries/001.p/",
            "tile/0/-01",
            "tile/0/+01",
        ] {
            assert!(TileId::parse(p).is_err(), "{p}");
        }
    }

    #[test]
    fn new_tiles_for_the_spec_example_of_size_70000() {
        // C2SP tlog-tiles: 273 full level 0 tiles, a partial one of width 112, one full
        // level 1 tile, a partial level 1 tile of width 17, a partial level 2 tile of width 1.
        let tiles = new_tiles(0, 70_000);
        let hashes: Vec<_> = tiles
            .iter()
            .filter(|t| matches!(t.kind(), TileKind::Hashes { .. }))
            .collect();
        let level = |l| {
            hashes
                .iter()
                .filter(move |t| t.kind() == TileKind::Hashes { level: l })
                .collect::<Vec<_>>()
        };
        assert_eq!(level(0).len(), 274);
        assert_eq!(level(0).iter().filter(|t| !t.is_partial()).count(), 273);
        assert_eq!(level(0).last().unwrap().width(), 112);
        assert_eq!(
            level(1).iter().map(|t| t.width()).collect::<Vec<_>>(),
            vec![256, 17]
        );
        assert_eq!(
            level(2).iter().map(|t| t.width()).collect::<Vec<_>>(),
            vec![1]
        );
        assert_eq!(tiles.len() - hashes.len(), 274);
        // C2SP: "a tree of size 256 will be represented by a full level 0 tile and a partial
        // level 1 tile of width 1".
        let t256: Vec<_> = new_tiles(0, 256).into_iter().map(|t| t.path()).collect();
        assert_eq!(t256, ["tile/0/000", "tile/1/000.p/1", "tile/entries/000"]);
        // Growing 300 -> 301 widens only the partial level 0 tile.
        let grow: Vec<_> = new_tiles(300, 301).into_iter().map(|t| t.path()).collect();
        assert_eq!(grow, ["tile/0/001.p/45", "tile/entries/001.p/45"]);
        assert!(new_tiles(5, 5).is_empty());
    }

    #[test]
    fn tile_contents_rebuild_the_root() {
        let mut t = MemoryTree::new();
        for i in 0..(256 * 3 + 10u64) {
            t.append(&i.to_be_bytes()).unwrap();
        }
        let size = t.size();
        // Level 1 partial tile of width 3 holds the roots of the three full level 0 tiles.
        let l1 = TileId::hashes(1, 0, 3).unwrap();
        let data = tile_data(&l1, size, &t).unwrap();
        assert_eq!(data.len(), 3 * 32);
        let l0 = tile_data(&TileId::hashes(0, 1, 256).unwrap(), size, &t).unwrap();
        assert_eq!(Tile::subtree_hash(&l0).0.as_slice(), &data[32..64]);
        // The root of the first 512 leaves from the level 1 hashes.
        let h = |i: usize| Hash(data[i * 32..(i + 1) * 32].try_into().unwrap());
        assert_eq!(crate::tree::node_hash(h(0), h(1)), root(512, &t).unwrap());
        // A tile beyond the tree is refused, not read.
        let beyond = TileId::hashes(0, 3, 11).unwrap();
        assert!(matches!(
            tile_data(&beyond, size, &t),
            Err(TileError::NotInTree { .. })
        ));
        assert!(tile_data(&TileId::hashes(63, 0, 1).unwrap(), u64::MAX, &t).is_err());
    }

    #[test]
    fn entry_bundles_round_trip_and_detect_a_changed_entry() {
        let mut t = MemoryTree::new();
        let entries: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; usize::from(i) * 100]).collect();
        for e in &entries {
            t.append(e).unwrap();
        }
        let bundle = encode_entry_bundle(&entries).unwrap();
        assert_eq!(decode_entry_bundle(&bundle).unwrap(), entries);
        let id = TileId::entries(0, 5).unwrap();
        let level0 = tile_data(&id.counterpart().unwrap(), 5, &t).unwrap();
        verify_entry_bundle(&id, &entries, &level0).unwrap();
        let mut changed = entries.clone();
        changed[3][0] ^= 1;
        assert!(matches!(
            verify_entry_bundle(&id, &changed, &level0),
            Err(TileError::LeafMismatch { index: 3 })
        ));
        assert!(matches!(
            decode_entry_bundle(&bundle[..bundle.len() - 1]),
            Err(TileError::MalformedBundle)
        ));
        assert!(matches!(
            encode_entry_bundle(&[vec![0u8; 70_000]]),
            Err(TileError::EntryTooLarge(70_000))
        ));
    }
}
