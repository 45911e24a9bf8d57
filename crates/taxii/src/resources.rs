//! The TAXII 2.1 resources, with the property names of the spec exactly (section 3.8).
//!
//! Optional properties are skipped when absent, and lists are skipped when empty: TAXII
//! prohibits empty lists in place of an omitted property (section 2, `list`). Properties a
//! resource does not define are ignored when reading (section 7.1.1 lets clients ignore custom
//! properties). Timestamps stay strings here: the server writes them with
//! [`crate::taxii_time`], and a client keeps what the server sent.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The header giving the `date_added` of the first object of a response (section 3.2).
pub const HEADER_DATE_ADDED_FIRST: &str = "X-TAXII-Date-Added-First";

/// The header giving the `date_added` of the last object of a response (section 3.2).
pub const HEADER_DATE_ADDED_LAST: &str = "X-TAXII-Date-Added-Last";

fn is_false(b: &bool) -> bool {
    !*b
}

/// The `discovery` resource (section 4.1.1), served at `/taxii2/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discovery {
    /// A human-readable name for the server.
    pub title: String,
    /// A human-readable description of the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Contact information for the server or its administrator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The default API Root; when present it must be one of `api_roots`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// URLs of the API Roots advertised to this client (HTTPS absolute, or relative starting
    /// with a single `/`, without a query component).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_roots: Vec<String>,
}

/// The `api-root` resource (section 4.2.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiRoot {
    /// A human-readable name for the API Root.
    pub title: String,
    /// A human-readable description of the API Root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The TAXII media types, with version, the API Root speaks; must hold
    /// [`crate::TAXII_MEDIA_TYPE`].
    pub versions: Vec<String>,
    /// The largest request body, in octets, the server accepts (a positive integer).
    pub max_content_length: u64,
}

/// The `collections` resource (section 5.1.1). With no collections the key is omitted and the
/// resource is `{}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Collections {
    /// The collections this client may see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<Collection>,
}

/// The `collection` resource (section 5.2.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collection {
    /// The collection's identifier (a UUID).
    pub id: String,
    /// A human-readable title.
    pub title: String,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A name unique within the API Root that may stand for `id` in URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Whether the requester may read objects (Get Objects, Get an Object, Get Manifests).
    pub can_read: bool,
    /// Whether the requester may add objects.
    pub can_write: bool,
    /// The media types of the objects the collection holds; absent means
    /// `["application/stix+json"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_types: Vec<String>,
}

/// The `manifest` resource (section 5.3.1). With no records the resource is `{}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// Whether more records match the request; absent means false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub more: bool,
    /// The value for the `next` parameter of the following page. Section 5.3's property
    /// table does not list it, but the endpoint takes `next` (section 3.4) and clients (the
    /// OASIS `taxii2-client`'s `as_pages`) page the manifest with it, as with objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// One record per version of an object, in `date_added` order (section 3.3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ManifestRecord>,
}

/// A `manifest-record` (section 5.3.1): metadata about one version of one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestRecord {
    /// The object's identifier (the STIX `id`).
    pub id: String,
    /// When this version was added to the collection (a TAXII timestamp).
    pub date_added: String,
    /// The version: the STIX `modified`, or `created` for unversioned objects.
    pub version: String,
    /// The media type this version can be requested in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

/// The `envelope` resource (section 3.7): the wrapper for STIX content in both directions.
///
/// Objects are kept as raw JSON so they pass through untouched; parse them with
/// `liaison_stix` at the edge. An envelope without objects is `{}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Envelope {
    /// Whether more content matches the request; absent means false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub more: bool,
    /// The value to send as the `next` query parameter for the following page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// The STIX objects, each exactly as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<Box<RawValue>>,
}

/// The overall state of an add-objects request (section 4.3.1, `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusKind {
    /// The resource may still change.
    Pending,
    /// The resource will not change again.
    Complete,
}

/// The `status` resource (section 4.3.1), returned by Add Objects (section 5.5) and Get Status
/// (section 4.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The status resource's identifier (a UUID).
    pub id: String,
    /// Whether processing is finished.
    pub status: StatusKind,
    /// When the monitored request was made (a TAXII timestamp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timestamp: Option<String>,
    /// How many objects the request held.
    pub total_count: u64,
    /// How many were added.
    pub success_count: u64,
    /// The objects added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub successes: Vec<StatusDetails>,
    /// How many failed.
    pub failure_count: u64,
    /// The objects that failed, with a message each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<StatusDetails>,
    /// How many are still to be processed.
    pub pending_count: u64,
    /// The objects still to be processed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pendings: Vec<StatusDetails>,
}

/// A `status-details` entry (section 4.3.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusDetails {
    /// The object's identifier (the STIX `id`).
    pub id: String,
    /// The object's version (STIX `modified`, else `created`). Required by the property table;
    /// optional here because the spec's own example in section 5.5 omits it, and a client
    /// should read such servers. A server always sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// More about the object's state, such as why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The `versions` resource (section 5.8.1). With no versions the resource is `{}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Versions {
    /// Whether more versions match the request; absent means false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub more: bool,
    /// The value for the `next` parameter of the following page (not in section 5.8's
    /// table; given for the same reason as [`Manifest::next`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// The versions of the object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

/// The `error` message (section 3.6.1), the body of an HTTP error response. Build one with
/// [`ErrorMessage::new`] from an [`crate::ErrorKind`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorMessage {
    /// A human-readable title.
    pub title: String,
    /// A human-readable description of the problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An identifier for this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
    /// An application-specific code for this kind of error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The HTTP status code, as a string; must equal the response's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<String>,
    /// A URL with more details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_details: Option<String>,
    /// Server-specific structured details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;

    /// Reads `json`, writes it back and compares as JSON values, so that every property of the
    /// spec's example survives with its exact name.
    fn round_trip<T: Serialize + DeserializeOwned>(json: &str) -> T {
        let parsed: T = serde_json::from_str(json).unwrap();
        let written = serde_json::to_value(&parsed).unwrap();
        let expected: Value = serde_json::from_str(json).unwrap();
        assert_eq!(written, expected);
        parsed
    }

    #[test]
    fn discovery_section_4_1() {
        let d: Discovery = round_trip(
            r#"{
              "title": "Some TAXII Server",
              "description": "This TAXII Server contains a listing of...",
              "contact": "string containing contact information",
              "default": "https://example.com/api2/",
              "api_roots": [
                "https://example.com/api1/",
                "https://example.com/api2/",
                "https://example.net/trustgroup1/"
              ]
            }"#,
        );
        assert_eq!(d.api_roots.len(), 3);
        round_trip::<Discovery>(r#"{"title": "bare"}"#);
    }

    #[test]
    fn api_root_section_4_2() {
        let r: ApiRoot = round_trip(
            r#"{
              "title": "Malware Research Group",
              "description": "A trust group setup for malware researchers",
              "versions": ["application/taxii+json;version=2.1"],
              "max_content_length": 104857600
            }"#,
        );
        assert_eq!(r.max_content_length, 104_857_600);
        assert!(serde_json::from_str::<ApiRoot>(r#"{"title": "x", "versions": []}"#).is_err());
    }

    #[test]
    fn status_section_4_3() {
        let s: Status = round_trip(
            r#"{
              "id": "2d086da7-4bdc-4f91-900e-d77486753710",
              "status": "pending",
              "request_timestamp": "2016-11-02T12:34:34.12345Z",
              "total_count": 4,
              "success_count": 1,
              "successes": [
                {"id": "indicator--c410e480-e42b-47d1-9476-85307c12bcbf", "version": "2018-05-27T12:02:41.312Z"}
              ],
              "failure_count": 1,
              "failures": [
                {"id": "malware--664fa29d-bf65-4f28-a667-bdb76f29ec98", "version": "2018-05-28T14:03:42.543Z", "message": "Unable to process object"}
              ],
              "pending_count": 2,
              "pendings": [
                {"id": "indicator--252c7c11-daf2-42bd-843b-be65edca9f61", "version": "2018-05-18T20:16:21.148Z"},
                {"id": "relationship--045585ad-a22f-4333-af33-bfd503a683b5", "version": "2018-05-15T10:13:32.579Z"}
              ]
            }"#,
        );
        assert_eq!(s.status, StatusKind::Pending);
        assert_eq!(
            s.failures[0].message.as_deref(),
            Some("Unable to process object")
        );
        // Section 5.5's example: successes without version, no lists for zero counts.
        let s: Status = round_trip(
            r#"{
              "id": "2d086da7-4bdc-4f91-900e-d77486753710",
              "status": "complete",
              "total_count": 4,
              "success_count": 1,
              "successes": [{"id": "indicator--c410e480-e42b-47d1-9476-85307c12bcbf"}],
              "failure_count": 0,
              "pending_count": 3
            }"#,
        );
        assert_eq!(s.status, StatusKind::Complete);
        assert!(serde_json::from_str::<StatusKind>(r#""done""#).is_err());
    }

    #[test]
    fn collections_section_5_1_and_5_2() {
        let c: Collections = round_trip(
            r#"{
              "collections": [
                {
                  "id": "91a7b528-80eb-42ed-a74d-c6fbd5a26116",
                  "title": "High Value Indicator Collection",
                  "description": "This data collection contains high value IOCs",
                  "can_read": true,
                  "can_write": false,
                  "media_types": ["application/stix+json;version=2.1"]
                },
                {
                  "id": "52892447-4d7e-4f70-b94d-d7f22742ff63",
                  "title": "Indicators from the past 24-hours",
                  "alias": "current-iocs",
                  "can_read": true,
                  "can_write": true
                }
              ]
            }"#,
        );
        assert_eq!(c.collections[1].alias.as_deref(), Some("current-iocs"));
        assert_eq!(
            serde_json::to_string(&Collections::default()).unwrap(),
            "{}"
        );
    }

    #[test]
    fn manifest_section_5_3() {
        let m: Manifest = round_trip(
            r#"{
              "more": true,
              "objects": [
                {
                  "id": "indicator--29aba82c-5393-42a8-9edb-6a2cb1df070b",
                  "date_added": "2016-11-04T03:04:05.100000Z",
                  "version": "2016-11-03T12:30:59.000Z",
                  "media_type": "application/stix+json;version=2.1"
                },
                {
                  "id": "indicator--ef0b28e1-308c-4a30-8770-9b4851b260a5",
                  "date_added": "2016-11-04T10:29:06.100000Z",
                  "version": "2016-11-03T12:35:10.000Z"
                }
              ]
            }"#,
        );
        assert!(m.more);
        assert_eq!(serde_json::to_string(&Manifest::default()).unwrap(), "{}");
    }

    #[test]
    fn envelope_section_3_7_keeps_objects_byte_for_byte() {
        let text = r#"{"more":true,"next":"123456789","objects":[{"type":"indicator","id":"indicator--252c7c11-daf2-42bd-843b-be65edca9f61","x_big":12345678901234567890123,"modified":"2016-01-01T00:00:00.000Z"}]}"#;
        let e: Envelope = serde_json::from_str(text).unwrap();
        assert!(e.more);
        assert_eq!(e.next.as_deref(), Some("123456789"));
        assert_eq!(serde_json::to_string(&e).unwrap(), text);
        let empty: Envelope = serde_json::from_str("{}").unwrap();
        assert!(!empty.more && empty.next.is_none() && empty.objects.is_empty());
        assert_eq!(serde_json::to_string(&empty).unwrap(), "{}");
    }

    #[test]
    fn versions_section_5_8() {
        let v: Versions =
            round_trip(r#"{"versions": ["2016-11-03T12:30:59.000Z", "2016-11-03T12:31:00.000Z"]}"#);
        assert!(!v.more);
        round_trip::<Versions>(r#"{"more": true, "versions": ["2016-11-03T12:30:59.000Z"]}"#);
    }

    #[test]
    fn error_section_3_6_1() {
        let e: ErrorMessage = round_trip(
            r#"{
              "title": "Error condition XYZ",
              "description": "This error is caused when the application tries to access data...",
              "error_id": "1234",
              "error_code": "581234",
              "http_status": "409",
              "external_details": "http://example.com/ticketnumber1/errorid-1234",
              "details": {"somekey1": "somevalue", "somekey2": "some other value"}
            }"#,
        );
        assert_eq!(e.http_status.as_deref(), Some("409"));
    }
}
