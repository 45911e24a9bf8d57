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
