//! Cutting an object for a partner (DESIGN.md rule 6): fields whose granular marking the
//! partner may not see are removed, and so is every reference to an object the partner may
//! not see, so that nothing in the copy shows that a withheld object exists. A cut that
//! leaves no valid STIX object withholds the object instead.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

use liaison_stix::{StixObject, LIAISON_EXTENSION_ID};
use serde_json::{Map, Value};

use crate::decide::Judge;
use crate::reason::{Reason, ReasonCode};
use crate::world::Ix;

/// What kind of thing was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutKind {
    /// A field, by its granular marking.
    Field,
    /// A reference to an object the partner may not see.
    Ref,
}

/// One cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// Field or reference.
    pub kind: CutKind,
    /// The field's selector, or the removed reference's id.
    pub what: String,
    /// Why, in words.
    pub detail: Arc<str>,
}

/// The partner's copy of an object and what was cut from it.
#[derive(Debug, Clone)]
pub struct Delivered<'a> {
    /// The copy, as it will be sent: borrowed from the original when nothing was cut.
    pub object: Cow<'a, Map<String, Value>>,
    /// Everything removed.
    pub cuts: Vec<Cut>,
}

impl Delivered<'_> {
    /// The reasons the cuts add to a release decision.
    pub fn reasons(&self) -> Vec<Reason> {
        self.cuts
            .iter()
            .map(|c| match c.kind {
                CutKind::Field => Reason::new(
                    ReasonCode::FieldCut,
                    format!("`{}` removed: {}", c.what, c.detail),
                ),
                CutKind::Ref => Reason::new(
                    ReasonCode::RefCut,
                    format!("reference to `{}` removed: {}", c.what, c.detail),
                ),
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

type Path = Vec<Seg>;

fn parse_selector(s: &str) -> Option<Path> {
    s.split('.')
        .map(|part| {
            if let Some(inner) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
                inner.parse().ok().map(Seg::Index)
            } else if part.is_empty() {
                None
            } else {
                Some(Seg::Key(part.to_owned()))
            }
        })
        .collect()
}

fn render(path: &[Seg]) -> String {
    path.iter()
        .map(|s| match s {
            Seg::Key(k) => k.clone(),
            Seg::Index(i) => format!("[{i}]"),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn cmp_seg(a: &Seg, b: &Seg) -> Ordering {
    match (a, b) {
        (Seg::Index(x), Seg::Index(y)) => x.cmp(y),
        (Seg::Key(x), Seg::Key(y)) => x.cmp(y),
        (Seg::Index(_), Seg::Key(_)) => Ordering::Less,
        (Seg::Key(_), Seg::Index(_)) => Ordering::Greater,
    }
}

fn cmp_path(a: &Path, b: &Path) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = cmp_seg(x, y);
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

fn get_mut<'a>(v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut cur = v;
    for s in path {
        cur = match (s, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn exists(v: &Value, path: &[Seg]) -> bool {
    let mut cur = v;
    for s in path {
        cur = match (s, cur) {
            (Seg::Key(k), Value::Object(m)) => match m.get(k) {
                Some(x) => x,
                None => return false,
            },
            (Seg::Index(i), Value::Array(a)) => match a.get(*i) {
                Some(x) => x,
                None => return false,
            },
            _ => return false,
        };
    }
    true
}

fn remove(v: &mut Value, path: &[Seg]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    let Some(container) = get_mut(v, parent) else {
        return;
    };
    match (last, container) {
        (Seg::Key(k), Value::Object(m)) => {
            m.shift_remove(k);
        }
        (Seg::Index(i), Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
        }
        _ => {}
    }
}

/// The selector `s` after the removals: `None` if it points into something removed, else
/// with list indices shifted down past removed siblings.
fn remap(s: &Path, removed: &[Path]) -> Option<Path> {
    if removed
        .iter()
        .any(|r| r.len() <= s.len() && s.starts_with(r))
    {
        return None;
    }
    let mut out = s.clone();
    for (j, seg) in s.iter().enumerate() {
        if let Seg::Index(k) = seg {
            let prefix = s.get(..j)?;
            let shift = removed
                .iter()
                .filter(|r| {
                    r.len() == j + 1
                        && r.starts_with(prefix)
                        && matches!(r.get(j), Some(Seg::Index(m)) if m < k)
                })
                .count();
            if let Some(slot) = out.get_mut(j) {
                *slot = Seg::Index(k - shift);
            }
        }
    }
    Some(out)
}

/// [`find_refs`] over the properties of an object.
fn find_refs_in(
    judge: &mut Judge<'_>,
    m: &Map<String, Value>,
    path: &mut Path,
    skip: &[Path],
    out: &mut Vec<(Path, String)>,
) {
    if skip.iter().any(|s| path.starts_with(s)) {
        return;
    }
    for (k, child) in m {
        if path.is_empty() && (k == "granular_markings" || k == "id") {
            continue;
        }
        path.push(Seg::Key(k.clone()));
        match child {
            Value::String(id) if k.ends_with("_ref") => {
                if !ref_visible(judge, id) {
                    out.push((path.clone(), id.clone()));
                }
            }
            Value::Array(items) if k.ends_with("_refs") => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    match item {
                        Value::String(id) => {
                            if !ref_visible(judge, id) {
                                out.push((path.clone(), id.clone()));
                            }
                        }
                        // Not a reference as STIX writes one, but whatever it holds
                        // is still looked through: nothing may point past a cut.
                        other => find_refs(judge, other, path, skip, out),
                    }
                    path.pop();
                }
            }
            _ => find_refs(judge, child, path, skip, out),
        }
        path.pop();
    }
}

/// Whether `path` exists under the properties `m`.
fn exists_in(m: &Map<String, Value>, path: &[Seg]) -> bool {
    match path.split_first() {
        Some((Seg::Key(k), rest)) => m.get(k).is_some_and(|v| exists(v, rest)),
        _ => false,
    }
}

/// Finds references (`*_ref`, `*_refs`, anywhere but in markings) the partner may not see.
fn find_refs(
    judge: &mut Judge<'_>,
    v: &Value,
    path: &mut Path,
    skip: &[Path],
    out: &mut Vec<(Path, String)>,
) {
    if skip.iter().any(|s| path.starts_with(s)) {
        return;
    }
    match v {
        Value::Object(m) => find_refs_in(judge, m, path, skip, out),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                find_refs(judge, item, path, skip, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Whether the value at `path` is gone after `removed`: removed itself, or a list or object
/// that the removals empty (an extension left with only its `extension_type` counts as
/// empty), since STIX has no empty lists. Emptied containers are added to `emptied`. All
/// paths are in the coordinates of the object before any removal.
fn gone(v: &Value, path: &mut Path, removed: &[Path], emptied: &mut Vec<Path>) -> bool {
    if removed.iter().any(|r| r == path) {
        return true;
    }
    if !removed
        .iter()
        .any(|r| r.len() > path.len() && r.starts_with(path))
    {
        return false;
    }
    let left = match v {
        Value::Object(m) => {
            let mut left = 0;
            for (k, child) in m {
                path.push(Seg::Key(k.clone()));
                if !gone(child, path, removed, emptied) && k != "extension_type" {
                    left += 1;
                }
                path.pop();
            }
            left
        }
        Value::Array(items) => {
            let mut left = 0;
            for (i, child) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                if !gone(child, path, removed, emptied) {
                    left += 1;
                }
                path.pop();
            }
            left
        }
        _ => return false,
    };
    if left == 0 && !path.is_empty() {
        emptied.push(path.clone());
        return true;
    }
    false
}

const COMMON: [&str; 5] = ["type", "id", "spec_version", "created", "modified"];

fn ref_visible(judge: &mut Judge<'_>, id: &str) -> bool {
    if id.starts_with("marking-definition--") {
        return judge.world().markings().is_known(id);
    }
    if id.starts_with("extension-definition--") {
        return id == LIAISON_EXTENSION_ID;
    }
    match judge.world().lookup(id) {
        Some(ix) => judge.visible(ix),
        None => false,
    }
}

/// Cuts object `ix` (whose body is `object`) for the judge's partner. `Err` carries the
/// reason to withhold instead, when the cuts leave no valid STIX object.
pub fn cut_for<'a>(
    judge: &mut Judge<'_>,
    ix: Ix,
    object: &'a StixObject,
) -> Result<Delivered<'a>, Reason> {
    let props = object.props();
    let mut cuts = Vec::new();
    let mut removed: Vec<Path> = Vec::new();
    let mut dropped_markings: Vec<usize> = Vec::new();

    // A granular marking that cannot be applied fails closed: every selector of every
    // marking must name a field of this object, whether or not the partner may see it, or
    // the field it was meant to protect could go out unmarked.
    for gm in object.granular_markings() {
        if gm.marking_ref.is_none() {
            continue;
        }
        for sel in &gm.selectors {
            match parse_selector(sel) {
                Some(p) if exists_in(props, &p) => {}
                Some(_) => {
                    return Err(Reason::new(
                        ReasonCode::InvalidLabel,
                        format!("granular marking selector `{sel}` matches no field, so the marking cannot be applied"),
                    ))
                }
                None => {
                    return Err(Reason::new(
                        ReasonCode::InvalidLabel,
                        format!("granular marking selector `{sel}` cannot be read, so the marking cannot be applied"),
                    ))
                }
            }
        }
    }
    for (k, gm) in object.granular_markings().iter().enumerate() {
        let Some(m) = &gm.marking_ref else { continue };
        if let Err(why) = judge.field_visible(ix, m.as_str()) {
            dropped_markings.push(k);
            // Every selector parses and names a field: checked above.
            for sel in &gm.selectors {
                if let Some(p) = parse_selector(sel) {
                    cuts.push(Cut {
                        kind: CutKind::Field,
                        what: sel.clone(),
                        detail: why.clone(),
                    });
                    removed.push(p);
                }
            }
        }
    }

    let mut refs = Vec::new();
    find_refs_in(judge, props, &mut Vec::new(), &removed, &mut refs);
    let partner = judge.partner().clone();
    for (p, id) in refs {
        cuts.push(Cut {
            kind: CutKind::Ref,
            what: id,
            detail: format!("not released to {partner}").into(),
        });
        removed.push(p);
    }

    // The tear line's pointer to its original shows that the original exists.
    if let Some(orig) = object.tearline_of() {
        if !ref_visible(judge, orig.as_str()) {
            let p = vec![
                Seg::Key("extensions".into()),
                Seg::Key(LIAISON_EXTENSION_ID.into()),
                Seg::Key("tearline_of".into()),
            ];
            cuts.push(Cut {
                kind: CutKind::Ref,
                what: orig.to_string(),
                detail: format!("not released to {partner}").into(),
            });
            removed.push(p);
        }
    }

    // Nothing to cut: the copy is the original, as received (no copy made).
    if removed.is_empty() && dropped_markings.is_empty() {
        return Ok(Delivered {
            object: Cow::Borrowed(props),
            cuts,
        });
    }
    let mut root = Value::Object(props.clone());
    let mut emptied = Vec::new();
    gone(&root, &mut Vec::new(), &removed, &mut emptied);
    removed.extend(emptied);
    removed.sort_by(cmp_path);
    removed.dedup();
    // In reverse order, a removal never shifts the index of one still to come.
    for p in removed.iter().rev() {
        remove(&mut root, p);
    }

    if !dropped_markings.is_empty() || !removed.is_empty() {
        let mut kept = Vec::new();
        for (k, gm) in object.granular_markings().iter().enumerate() {
            if dropped_markings.contains(&k) {
                continue;
            }
            let sels: Vec<String> = gm
                .selectors
                .iter()
                .filter_map(|s| parse_selector(s))
                .filter_map(|p| remap(&p, &removed))
                .map(|p| render(&p))
                .collect();
            if sels.is_empty() {
                continue;
            }
            let mut entry = Map::new();
            if let Some(m) = &gm.marking_ref {
                entry.insert("marking_ref".into(), Value::String(m.to_string()));
            }
            if let Some(l) = &gm.lang {
                entry.insert("lang".into(), Value::String(l.clone()));
            }
            entry.insert("selectors".into(), Value::from(sels));
            kept.push(Value::Object(entry));
        }
        if let Value::Object(m) = &mut root {
            if kept.is_empty() {
                m.shift_remove("granular_markings");
            } else {
                m.insert("granular_markings".into(), Value::Array(kept));
            }
        }
    }

    let Value::Object(props) = root else {
        return Err(Reason::new(
            ReasonCode::InvalidLabel,
            "object is not a JSON object",
        ));
    };
    if !cuts.is_empty() {
        let code = if cuts.iter().any(|c| c.kind == CutKind::Field) {
            ReasonCode::FieldCut
        } else {
            ReasonCode::RefCut
        };
        let lost = COMMON
            .iter()
            .chain(liaison_stix::required_properties(object.object_type()))
            .find(|k| object.props().contains_key(**k) && !props.contains_key(**k));
        if let Some(k) = lost {
            return Err(Reason::new(
                code,
                format!("the cuts would remove `{k}`, which the object cannot do without"),
            ));
        }
        if let Err(e) = StixObject::from_props(props.clone()) {
            return Err(Reason::new(
                code,
                format!("the cuts leave no valid object ({})", e.field),
            ));
        }
    }
    Ok(Delivered {
        object: Cow::Owned(props),
        cuts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Path {
        parse_selector(s).unwrap()
    }

    #[test]
    fn selectors_parse_and_render() {
        assert_eq!(
            render(&p("external_references.[2].url")),
            "external_references.[2].url"
        );
        assert!(parse_selector("a..b").is_none());
        assert!(parse_selector("a.[x]").is_none());
    }

    #[test]
    fn remap_shifts_siblings_and_drops_children_of_removed() {
        let removed = vec![p("external_references.[0]"), p("description")];
        assert_eq!(
            remap(&p("external_references.[2].url"), &removed),
            Some(p("external_references.[1].url"))
        );
        assert_eq!(remap(&p("external_references.[0].url"), &removed), None);
        assert_eq!(remap(&p("description"), &removed), None);
        assert_eq!(remap(&p("name"), &removed), Some(p("name")));
    }

    #[test]
    fn removing_in_reverse_order_keeps_indices_right() {
        let mut v: Value = serde_json::json!({"a": [0, 1, 2, 3], "b": 1});
        let mut removed = [p("a.[1]"), p("a.[3]"), p("b")];
        removed.sort_by(cmp_path);
        for r in removed.iter().rev() {
            remove(&mut v, r);
        }
        assert_eq!(v, serde_json::json!({"a": [0, 2]}));
    }
}
