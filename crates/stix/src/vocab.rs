//! The STIX 2.1 object types liaison knows by name, to decide which common properties an
//! object must carry. Custom types are accepted with the rules that apply to every type.

const SDO_SRO: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
    "relationship",
    "sighting",
    "language-content",
    "extension-definition",
];

const SCO: &[&str] = &[
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

/// Whether `ty` is one of the STIX 2.1 domain or relationship objects (or the meta objects
/// that carry `created` and `modified`).
pub fn is_sdo_or_sro_type(ty: &str) -> bool {
    SDO_SRO.contains(&ty)
}

/// Whether `ty` is one of the STIX 2.1 cyber-observable objects.
pub fn is_sco_type(ty: &str) -> bool {
    SCO.contains(&ty)
}

/// The properties STIX 2.1 requires of a type besides the common ones (sections 4 to 6).
/// (A marking-definition needs `definition_type` and `definition`, or `extensions`: checked
/// apart.)
pub fn required_properties(ty: &str) -> &'static [&'static str] {
    match ty {
        "indicator" => &["pattern", "pattern_type", "valid_from"],
        "report" => &["name", "published", "object_refs"],
        "grouping" => &["context", "object_refs"],
        "note" => &["content", "object_refs"],
        "opinion" => &["opinion", "object_refs"],
        "observed-data" => &["first_observed", "last_observed", "number_observed"],
        "relationship" => &["relationship_type", "source_ref", "target_ref"],
        "sighting" => &["sighting_of_ref"],
        "malware" => &["is_family"],
        "malware-analysis" => &["product"],
        "attack-pattern" | "campaign" | "course-of-action" | "identity" | "incident"
        | "infrastructure" | "intrusion-set" | "threat-actor" | "tool" | "vulnerability" => {
            &["name"]
        }
        "domain-name" | "email-addr" | "ipv4-addr" | "ipv6-addr" | "mac-addr" | "mutex" | "url" => {
            &["value"]
        }
        "directory" => &["path"],
        "autonomous-system" => &["number"],
        "user-account" => &["user_id"],
        "windows-registry-key" => &["key"],
        _ => &[],
    }
}
