//! Reading a document as a stream: a bundle's (or TAXII envelope's) `objects` are handed over
//! one at a time as they are read, so that memory is bounded by one object and what the caller
//! keeps, not by the document. Every check of [`crate::parse_document`] is made, with the same
//! messages and the same precedence; those on the document as a whole (valid JSON to the last
//! byte, the bundle's `type` and `id`, two objects with one id and version but different
//! content) are known only at the end, so a caller that writes as it reads reads the document
//! once to check it first (as `liaison ingest` does).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::io::Read;
use std::rc::Rc;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::bundle::{bundle_id, read_object};
use crate::error::{Locator, StixError};
use crate::id::StixId;
use crate::object::StixObject;
use crate::upgrade::Upgrade;

/// The largest document that is one object (not a bundle or envelope) read from a stream: it is
/// kept whole to be stored as received, as the text of every object is.
pub const MAX_LONE_OBJECT: usize = 64 << 20;

/// What a streamed document was, once read to the end without a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Streamed {
    /// The bundle's id, when the document was a bundle.
    pub bundle_id: Option<StixId>,
    /// How many objects it held.
    pub objects: usize,
    /// How many of them were read as STIX 2.0 and upgraded (always 0 without upgrading).
    pub upgraded: usize,
}

/// Why a streamed document was not read to the end.
#[derive(Debug)]
pub enum StreamError<E> {
    /// The document is refused: the first problem, as [`crate::parse_document`] names it.
    Stix(StixError),
    /// Reading failed.
    Read(std::io::Error),
    /// The caller's function refused an object and reading stopped there.
    Stopped(E),
}

impl<E: fmt::Display> fmt::Display for StreamError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Stix(e) => e.fmt(f),
            StreamError::Read(e) => write!(f, "cannot read: {e}"),
            StreamError::Stopped(e) => e.fmt(f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for StreamError<E> {}

/// Reads the document from `source` (buffer it: it is read in small pieces), giving `each` every
/// object with its position in `objects` (0 for a lone object) and, with `upgrade`, what the STIX
/// 2.0 upgrade added to it (as [`crate::parse_document_upgrading`]). Objects are checked as
/// [`crate::parse_document`] checks them; after the first one refused, `each` is not called
/// again, and the rest of the document is only read through. `Ok` means the whole document is
/// accepted; an error from `each` stops reading at once.
pub fn stream_document<R: Read, E>(
    source: R,
    upgrade: bool,
    each: &mut dyn FnMut(usize, StixObject, Vec<Upgrade>) -> Result<(), E>,
) -> Result<Streamed, StreamError<E>> {
    stream_capped(source, upgrade, MAX_LONE_OBJECT, each)
}

/// [`stream_document`] with `cap` for [`MAX_LONE_OBJECT`].
fn stream_capped<R: Read, E>(
    source: R,
    upgrade: bool,
    cap: usize,
    each: &mut dyn FnMut(usize, StixObject, Vec<Upgrade>) -> Result<(), E>,
) -> Result<Streamed, StreamError<E>> {
    let kept = Rc::new(Kept {
        bytes: RefCell::new(Vec::new()),
        keeping: Cell::new(true),
        overflowed: Cell::new(false),
    });
    let tee = Tee {
        inner: source,
        kept: Rc::clone(&kept),
        cap,
    };
    let mut state = State {
        each,
        upgrade,
        kept: Rc::clone(&kept),
        ty: None,
        id: None,
        declared_stix20: false,
        objects: None,
        count: 0,
        upgraded: 0,
        first_problem: None,
        stopped: None,
        seen: Seen::default(),
    };
    let whole = Locator {
        index: None,
        id: None,
    };
    let mut de = serde_json::Deserializer::from_reader(tee);
    let read = DocumentSeed(&mut state)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Some(stopped) = state.stopped.take() {
        return Err(StreamError::Stopped(stopped));
    }
    if let Err(e) = read {
        if e.is_io() {
            return Err(StreamError::Read(e.into()));
        }
        return Err(StreamError::Stix(StixError::new(
            &whole,
            "-",
            format!("not valid JSON: {e}"),
        )));
    }
    let stix = |e| StreamError::Stix(e);
    if state.objects.is_none() {
        if state.ty.as_deref() == Some("bundle") {
            return Ok(Streamed {
                bundle_id: bundle_id(state.id.as_deref(), &whole).map_err(stix)?,
                objects: 0,
                upgraded: 0,
            });
        }
        // One object: its text is what was read.
        if kept.overflowed.get() {
            return Err(stix(StixError::new(
                &whole,
                "-",
                format!(
                    "a document that is one object is read up to {} MiB",
                    cap >> 20
                ),
            )));
        }
        let bytes = kept.bytes.take();
        let text = String::from_utf8(bytes).map_err(|e| {
            stix(StixError::new(
                &whole,
                "-",
                format!("not valid JSON: not UTF-8: {e}"),
            ))
        })?;
        let (object, added) = read_object(text.trim(), &whole, upgrade, false).map_err(stix)?;
        let upgraded = usize::from(!added.is_empty());
        (state.each)(0, object, added).map_err(StreamError::Stopped)?;
        return Ok(Streamed {
            bundle_id: None,
            objects: 1,
            upgraded,
        });
    }
    let bundle_id = match state.ty.as_deref() {
        Some("bundle") => bundle_id(state.id.as_deref(), &whole).map_err(stix)?,
        None => None,
        Some(other) => {
            return Err(stix(StixError::new(
                &whole,
                "type",
                format!("a document with `objects` must be a `bundle`, not `{other}`"),
            )))
        }
    };
    if let Some(problem) = state.first_problem.take() {
        return Err(stix(match problem {
            // Read again now that the whole bundle is known: its `spec_version` may come
            // after `objects`, and it words the problem.
            Problem::Object { index, raw } => {
                let at = Locator {
                    index: Some(index),
                    id: None,
                };
                match read_object(&raw, &at, upgrade, state.declared_stix20) {
                    Err(e) => e,
                    Ok(_) => StixError::new(&at, "-", "refused"),
                }
            }
            Problem::Duplicate(e) => e,
        }));
    }
    Ok(Streamed {
        bundle_id,
        objects: state.count,
        upgraded: state.upgraded,
    })
}

/// The bytes read while the document might still be one object (before `objects`).
struct Kept {
    bytes: RefCell<Vec<u8>>,
    keeping: Cell<bool>,
    overflowed: Cell<bool>,
}

/// Passes reads through, keeping a copy while [`Kept::keeping`].
struct Tee<R> {
    inner: R,
    kept: Rc<Kept>,
    cap: usize,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.kept.keeping.get() {
            let mut bytes = self.kept.bytes.borrow_mut();
            if bytes.len() + n > self.cap {
                self.kept.keeping.set(false);
                self.kept.overflowed.set(true);
                *bytes = Vec::new();
            } else {
                bytes.extend_from_slice(buf.get(..n).unwrap_or_default());
            }
        }
        Ok(n)
    }
}

/// The first object refused.
enum Problem {
    /// Refused on its own: its text, read again at the end.
    Object { index: usize, raw: String },
    /// The same id and version as an earlier object, with other content.
    Duplicate(StixError),
}

/// What is known of every object read so far, to find two with one id and version but
/// different content (refused by [`crate::parse_document`]) without keeping them: a 128-bit
/// digest of (id, version), with the position and a digest of the content of the last object
/// that had it. About 40 bytes an object.
#[derive(Default)]
struct Seen {
    keys: (RandomState, RandomState),
    content: RandomState,
    last: HashMap<u128, (usize, u64)>,
}

impl Seen {
    /// The position of an earlier object with the same id and version and other content.
    fn conflict(&mut self, index: usize, object: &StixObject) -> Option<usize> {
        let key = (
            object.id().as_str(),
            object.version().map(|t| t.unix_nanos()),
        );
        let digest =
            u128::from(self.keys.0.hash_one(key)) << 64 | u128::from(self.keys.1.hash_one(key));
        let content = content_digest(&self.content, object.props());
        match self.last.insert(digest, (index, content)) {
            Some((first, c)) if c != content => Some(first),
            _ => None,
        }
    }
}

/// A digest of a JSON object that, as the equality of [`StixObject`]s, does not depend on the
/// order of members.
fn content_digest(state: &RandomState, props: &Map<String, Value>) -> u64 {
    let mut h = state.build_hasher();
    hash_members(state, props, &mut h);
    h.finish()
}

fn hash_members(state: &RandomState, props: &Map<String, Value>, h: &mut impl Hasher) {
    // Each member hashed alone, then summed: the sum does not depend on the order.
    let mut sum: u64 = 0;
    for (k, v) in props {
        let mut m = state.build_hasher();
        k.hash(&mut m);
        hash_value(state, v, &mut m);
        sum = sum.wrapping_add(m.finish());
    }
    h.write_u8(b'{');
    h.write_usize(props.len());
    h.write_u64(sum);
}

fn hash_value(state: &RandomState, v: &Value, h: &mut impl Hasher) {
    match v {
        Value::Null => h.write_u8(b'n'),
        Value::Bool(b) => {
            h.write_u8(b'b');
            b.hash(h);
        }
        Value::Number(n) => {
            // Numbers are compared as written (`arbitrary_precision`): so hashed.
            h.write_u8(b'0');
            n.to_string().hash(h);
        }
        Value::String(s) => {
            h.write_u8(b's');
            s.hash(h);
        }
        Value::Array(a) => {
            h.write_u8(b'[');
            h.write_usize(a.len());
            for x in a {
                hash_value(state, x, h);
            }
        }
        Value::Object(m) => hash_members(state, m, h),
    }
}

struct State<'a, E> {
    each: &'a mut dyn FnMut(usize, StixObject, Vec<Upgrade>) -> Result<(), E>,
    upgrade: bool,
    kept: Rc<Kept>,
    ty: Option<String>,
    id: Option<String>,
    declared_stix20: bool,
    /// Whether `objects` was there (and not null).
    objects: Option<()>,
    count: usize,
    upgraded: usize,
    first_problem: Option<Problem>,
    stopped: Option<E>,
    seen: Seen,
}

impl<E> State<'_, E> {
    fn object(&mut self, index: usize, raw: &str) -> Result<(), ()> {
        self.count = index + 1;
        if self.first_problem.is_some() {
            return Ok(());
        }
        let at = Locator {
            index: Some(index),
            id: None,
        };
        let (object, added) = match read_object(raw, &at, self.upgrade, self.declared_stix20) {
            Ok(read) => read,
            Err(_) => {
                self.first_problem = Some(Problem::Object {
                    index,
                    raw: raw.to_owned(),
                });
                return Ok(());
            }
        };
        if let Some(first) = self.seen.conflict(index, &object) {
            self.first_problem = Some(Problem::Duplicate(StixError::new(
                &Locator {
                    index: Some(index),
                    id: Some(object.id().to_string()),
                },
                "modified",
                format!("same id and version as object {first} but different content"),
            )));
            return Ok(());
        }
        if !added.is_empty() {
            self.upgraded += 1;
        }
        match (self.each)(index, object, added) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.stopped = Some(e);
                Err(())
            }
        }
    }
}

/// The top level: a map whose `objects` is streamed.
struct DocumentSeed<'s, 'a, E>(&'s mut State<'a, E>);

impl<'de, E> DeserializeSeed<'de> for DocumentSeed<'_, '_, E> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, E> Visitor<'de> for DocumentSeed<'_, '_, E> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a STIX bundle, a TAXII envelope or a STIX object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let state = self.0;
        let mut seen_keys = (false, false, false, false);
        while let Some(key) = map.next_key::<Key>()? {
            let twice = |seen: &mut bool, name: &str| {
                if std::mem::replace(seen, true) {
                    Err(de::Error::custom(format!("duplicate field `{name}`")))
                } else {
                    Ok(())
                }
            };
            match key {
                Key::Type => {
                    twice(&mut seen_keys.0, "type")?;
                    state.ty = map.next_value::<Option<String>>()?;
                }
                Key::Id => {
                    twice(&mut seen_keys.1, "id")?;
                    state.id = map.next_value::<Option<String>>()?;
                }
                Key::SpecVersion => {
                    twice(&mut seen_keys.2, "spec_version")?;
                    let v = map.next_value::<Option<Box<RawValue>>>()?;
                    state.declared_stix20 = v.as_deref().map(RawValue::get) == Some("\"2.0\"");
                }
                Key::Objects => {
                    twice(&mut seen_keys.3, "objects")?;
                    map.next_value_seed(ObjectsSeed(&mut *state))?;
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // `type` must be read as `bundle` with a reader that checks it: done by the caller.
        Ok(())
    }
}

/// `objects`: null (as if absent) or an array, streamed.
struct ObjectsSeed<'s, 'a, E>(&'s mut State<'a, E>);

impl<'de, E> DeserializeSeed<'de> for ObjectsSeed<'_, '_, E> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, E> Visitor<'de> for ObjectsSeed<'_, '_, E> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence of objects")
    }

    fn visit_none<Er: de::Error>(self) -> Result<(), Er> {
        Ok(())
    }

    fn visit_unit<Er: de::Error>(self) -> Result<(), Er> {
        Ok(())
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.objects = Some(());
        // From here on the document is not one object: stop keeping its text.
        self.0.kept.keeping.set(false);
        *self.0.kept.bytes.borrow_mut() = Vec::new();
        d.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let state = self.0;
        let mut index = 0;
        loop {
            if state.first_problem.is_some() {
                // The document is refused: only read through the rest, for its syntax.
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    return Ok(());
                }
                index += 1;
                state.count = index;
                continue;
            }
            let Some(raw) = seq.next_element::<Box<RawValue>>()? else {
                return Ok(());
            };
            state
                .object(index, raw.get())
                .map_err(|()| de::Error::custom("stopped by the reader"))?;
            index += 1;
        }
    }
}

/// The members of the top level that matter.
enum Key {
    Type,
    Id,
    SpecVersion,
    Objects,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<Er: de::Error>(self, s: &str) -> Result<Key, Er> {
                Ok(match s {
                    "type" => Key::Type,
                    "id" => Key::Id,
                    "spec_version" => Key::SpecVersion,
                    "objects" => Key::Objects,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::{parse_document, parse_document_upgrading};

    const IND: &str = r#"{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z","x_custom":{"kept":[1,2,3]}}"#;
    const IND20: &str = r#"{"type":"indicator","id":"indicator--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","labels":["malicious-activity"],"pattern":"[ipv4-addr:value = '198.51.100.1']","valid_from":"2016-01-01T00:00:00Z"}"#;
    const BID: &str = "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d";

    type Read = (Vec<StixObject>, Vec<Vec<Upgrade>>);

    fn streamed(text: &str, upgrade: bool) -> Result<Read, StixError> {
        let (mut objects, mut upgrades) = (Vec::new(), Vec::new());
        let r = stream_document::<_, ()>(text.as_bytes(), upgrade, &mut |i, o, u| {
            assert_eq!(i, objects.len());
            objects.push(o);
            upgrades.push(u);
            Ok(())
        });
        match r {
            Ok(s) => {
                assert_eq!(s.objects, objects.len());
                assert_eq!(
                    s.upgraded,
                    upgrades.iter().filter(|u| !u.is_empty()).count()
                );
                Ok((objects, upgrades))
            }
            Err(StreamError::Stix(e)) => Err(e),
            Err(other) => panic!("{other:?}"),
        }
    }

    fn whole(text: &str, upgrade: bool) -> Result<Read, StixError> {
        if upgrade {
            parse_document_upgrading(text).map(|r| (r.document.objects, r.upgrades))
        } else {
            parse_document(text).map(|d| {
                let n = d.objects.len();
                (d.objects, vec![Vec::new(); n])
            })
        }
    }

    /// The streamed reading and the whole one agree: the same objects (text included) and
    /// upgrades, or the same refusal (for JSON syntax, the same kind: serde words positions
    /// of a reader and of a string alike, but the expected shapes differ).
    fn agree(text: &str) {
        for upgrade in [false, true] {
            match (streamed(text, upgrade), whole(text, upgrade)) {
                (Ok((a, ua)), Ok((b, ub))) => {
                    assert_eq!(a, b, "{text}");
                    let raws =
                        |v: &[StixObject]| v.iter().map(|o| o.raw().to_owned()).collect::<Vec<_>>();
                    assert_eq!(raws(&a), raws(&b));
                    assert_eq!(ua, ub);
                }
                (Err(a), Err(b)) if b.problem.starts_with("not valid JSON") => {
                    assert_eq!((a.at.index, a.field.as_str()), (None, "-"), "{a} / {b}");
                    assert!(a.problem.starts_with("not valid JSON"), "{a} / {b}");
                }
                (Err(a), Err(b)) => {
                    assert_eq!(a, b, "{text}");
                    assert_eq!(a.is_stix20(), b.is_stix20());
                }
                (a, b) => panic!(
                    "upgrade {upgrade}: streamed {:?}, whole {:?}: {text}",
                    a.map(|r| r.0.len()),
                    b.map(|r| r.0.len())
                ),
            }
        }
    }

    #[test]
    fn agrees_with_the_whole_reading() {
        let other = IND.replace("198.51.100.1", "198.51.100.2");
        let reordered = r#"{"id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","type":"indicator","spec_version":"2.1","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z","x_custom":{"kept":[1,2,3]}}"#;
        let bad = IND.replace(
            "2016-04-06T20:03:48.000Z\",\"pattern",
            "yesterday\",\"pattern",
        );
        let docs = [
            format!(r#"{{"type":"bundle","id":"{BID}","objects":[{IND}]}}"#),
            format!(r#"{{"objects":[{IND},{IND20}],"type":"bundle","id":"{BID}"}}"#),
            format!(r#"{{"objects":[{IND},{IND}]}}"#),
            format!(r#"{{"objects":[{IND},{reordered}]}}"#),
            format!(r#"{{"objects":[{IND},{other}]}}"#),
            format!(r#"{{"objects":[{IND},{other},{bad}]}}"#),
            format!(r#"{{"objects":[{IND},{bad},{other}]}}"#),
            format!(r#"{{"objects":[{bad}],"type":"report"}}"#),
            format!(r#"{{"objects":[{bad}],"type":"bundle","id":"nope"}}"#),
            format!(r#"{{"objects":[{bad}],"type":"bundle","id":"{BID}"}}"#),
            format!(r#"{{"objects":[{IND20}],"spec_version":"2.0","type":"bundle","id":"{BID}"}}"#),
            format!(r#"{{"type":"bundle","spec_version":"2.0","id":"{BID}","objects":[{IND20}]}}"#),
            format!(r#"{{"objects":[{IND}], "more": false, "x": {{"objects": [1]}}}}"#),
            format!(r#"{{"objects":null, "type":"bundle", "id":"{BID}"}}"#),
            format!(r#"{{"type":"bundle","id":"{BID}"}}"#),
            format!(r#"{{"type":"bundle","id":"{BID}","objects":[]}}"#),
            format!(r#"{{"type":"bundle","id":"{BID}","objects":[{IND}]}} trailing"#),
            format!(r#"{{"type":"bundle","id":"{BID}","objects":[{IND},]}}"#),
            format!(r#"{{"type":"bundle","id":"{BID}","objects":[{IND}],"objects":[]}}"#),
            format!(r#"{{"objects":[1, {IND}]}}"#),
            format!("  {IND}\n"),
            IND20.to_owned(),
            bad.clone(),
            "{".into(),
            "[]".into(),
            "".into(),
            "{}".into(),
            "\"bundle\"".into(),
        ];
        for d in &docs {
            agree(d);
        }
    }

    #[test]
    fn agrees_on_every_truncation() {
        let doc = format!(r#"{{"type":"bundle","id":"{BID}","objects":[{IND},{IND20}]}}"#);
        for end in 0..doc.len() {
            agree(&doc[..end]);
        }
    }

    #[test]
    fn hands_objects_over_as_read_and_stops_when_told() {
        let doc = format!(r#"{{"objects":[{IND},{IND20},{IND}]}}"#);
        let mut got = Vec::new();
        let r = stream_document(doc.as_bytes(), true, &mut |i, o, _| {
            got.push(o.id().to_string());
            if i == 1 {
                Err("enough")
            } else {
                Ok(())
            }
        });
        assert!(matches!(r, Err(StreamError::Stopped("enough"))));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn after_a_refused_object_hands_over_no_more() {
        let bad = IND.replace("\"indicator--8e2e", "\"indicator--zzzz");
        let doc = format!(r#"{{"objects":[{IND20},{bad},{IND}]}}"#);
        let mut calls = 0;
        let r = stream_document::<_, ()>(doc.as_bytes(), true, &mut |_, _, _| {
            calls += 1;
            Ok(())
        });
        let Err(StreamError::Stix(e)) = r else {
            panic!("{r:?}")
        };
        assert_eq!((e.at.index, e.field.as_str()), (Some(1), "id"));
        assert_eq!(calls, 1);
    }

    #[test]
    fn a_lone_object_larger_than_the_cap_is_refused() {
        let cap = 2 << 20;
        let big = IND.replace(
            r#""kept":[1,2,3]"#,
            &format!(r#""kept":"{}""#, "x".repeat(cap)),
        );
        let read =
            |text: &str| stream_capped::<_, ()>(text.as_bytes(), false, cap, &mut |_, _, _| Ok(()));
        let Err(StreamError::Stix(e)) = read(&big) else {
            panic!("accepted")
        };
        assert!(e.problem.contains("up to 2 MiB"), "{e}");
        // Under the cap it is read; in a bundle, an object that size is read like any other.
        assert_eq!(
            read(&big.replace(&"x".repeat(cap), "x")).unwrap().objects,
            1
        );
        assert_eq!(
            read(&format!(r#"{{"objects":[{big}]}}"#)).unwrap().objects,
            1
        );
    }

    #[test]
    fn content_digest_ignores_member_order_only() {
        let s = RandomState::new();
        let a: Value = serde_json::from_str(r#"{"a":1,"b":[1,{"c":2,"d":3}]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b":[1,{"d":3,"c":2}],"a":1}"#).unwrap();
        let c: Value = serde_json::from_str(r#"{"a":1,"b":[{"c":2,"d":3},1]}"#).unwrap();
        let d: Value = serde_json::from_str(r#"{"a":1.0,"b":[1,{"c":2,"d":3}]}"#).unwrap();
        let digest = |v: &Value| content_digest(&s, v.as_object().unwrap());
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(digest(&a), digest(&c));
        assert_ne!(digest(&a), digest(&d));
        assert_eq!(a, b);
        assert_ne!(a, d);
    }
}
