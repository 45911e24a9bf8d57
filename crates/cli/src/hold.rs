//! `liaison hold add|lift|list`: a release officer's holds (see `crates/release/src/hold.rs`).
//! A hold only ever withholds more (`held_by_officer`); lifting it lets the policy decide as
//! before. Each hold and lift is written to the audit list as done at the command line.

use std::path::Path;

use liaison_release::CLI_OPERATOR;
use liaison_store::HoldRecord;
use serde_json::json;

use crate::commands::{open, party};
use crate::output::{json as print_json, table, Format};

fn hold_json(h: &HoldRecord) -> serde_json::Value {
    json!({"object": h.object, "to": h.partner, "by": h.by, "at": h.created, "reason": h.reason})
}

/// `liaison hold add --object ID --to P --reason TEXT [--by NAME]`.
pub(crate) fn add(
    home: &Path,
    object: &str,
    to: &str,
    reason: &str,
    by: Option<&str>,
    fmt: Format,
) -> anyhow::Result<()> {
    let to = party(to, "field `to`")?;
    let mut node = open(home)?;
    let h = node.hold(
        object,
        &to,
        by.unwrap_or(CLI_OPERATOR),
        reason,
        CLI_OPERATOR,
    )?;
    match fmt {
        Format::Json => print_json(&hold_json(&h)),
        Format::Human => {
            println!(
                "held: {} (and what derives from it) is withheld from {} until the hold is lifted (by {}: {})",
                h.object, h.partner, h.by, h.reason
            );
            Ok(())
        }
    }
}

/// `liaison hold lift --object ID --to P`.
pub(crate) fn lift(home: &Path, object: &str, to: &str, fmt: Format) -> anyhow::Result<()> {
    let to = party(to, "field `to`")?;
    let mut node = open(home)?;
    let h = node.lift_hold(object, &to, CLI_OPERATOR)?;
    match fmt {
        Format::Json => print_json(&json!({"lifted": hold_json(&h)})),
        Format::Human => {
            println!(
                "lifted: the hold on {} for {} (by {} since {}); the policy decides as before",
                h.object, h.partner, h.by, h.created
            );
            Ok(())
        }
    }
}

/// `liaison hold list [--to P]`.
pub(crate) fn list(home: &Path, to: Option<&str>, fmt: Format) -> anyhow::Result<()> {
    let to = to.map(|p| party(p, "field `to`")).transpose()?;
    let node = open(home)?;
    let holds = node.holds(to.as_ref())?;
    match fmt {
        Format::Json => print_json(&holds.iter().map(hold_json).collect::<Vec<_>>()),
        Format::Human => {
            if holds.is_empty() {
                println!("nothing is held");
                return Ok(());
            }
            let mut t = table(&["object", "from", "by", "since", "reason"]);
            for h in &holds {
                t.add_row(vec![&h.object, &h.partner, &h.by, &h.created, &h.reason]);
            }
            println!("{t}");
            Ok(())
        }
    }
}
