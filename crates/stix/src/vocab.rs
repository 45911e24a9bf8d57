//! The STIX 2.1 object types liaison knows by name, to decide which common properties an
//! object must carry. Custom types are accepted with the rules that apply to every type.

// Optimal string alignment distance (insert, delete, substitute, transpose neighbours:
// one each), for "did you mean" on short ASCII words.
use strsim::osa_distance as edit_distance;

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

/// Whether `ty` is a type STIX 2.1 defines: a domain, relationship or cyber-observable
/// object, or a meta object (`marking-definition`, `language-content`,
/// `extension-definition`).
pub fn is_stix_type(ty: &str) -> bool {
    is_sdo_or_sro_type(ty) || is_sco_type(ty) || ty == "marking-definition"
}

/// Every SDO and SRO type of STIX 2.1 (with `language-content` and `extension-definition`).
pub fn sdo_and_sro_types() -> &'static [&'static str] {
    SDO_SRO
}

/// The STIX 2.1 type that `ty` is most likely a misspelling of: one edit away, or two for
/// types of six characters or more (a transposition of neighbours counts as one).
pub fn closest_stix_type(ty: &str) -> Option<&'static str> {
    let limit = if ty.len() >= 6 { 2 } else { 1 };
    SDO_SRO
        .iter()
        .chain(SCO)
        .chain(&["marking-definition"])
        .map(|known| (edit_distance(ty, known), *known))
        .filter(|(d, _)| *d > 0 && *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, known)| known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_types_find_the_type_meant() {
        assert!(is_stix_type("indicator") && is_stix_type("ipv4-addr"));
        assert!(is_stix_type("marking-definition"));
        assert!(!is_stix_type("indicatr") && !is_stix_type("x-mitre-tactic"));
        assert_eq!(closest_stix_type("indicatr"), Some("indicator"));
        assert_eq!(closest_stix_type("thraet-actor"), Some("threat-actor"));
        assert_eq!(closest_stix_type("reprot"), Some("report"));
        assert_eq!(closest_stix_type("bundle"), None);
        assert_eq!(closest_stix_type("indicator"), None);
    }
}
