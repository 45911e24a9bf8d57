//! `liaison ledger`: what each side gave and got, and the balance over time.

use std::path::Path;

use liaison_release::{Ledger, Node};
use liaison_store::AnyStore;

use crate::output::{json, table, Format};

pub(crate) fn ledger(home: &Path, partner: Option<&str>, fmt: Format) -> anyhow::Result<()> {
    let node: Node<AnyStore> = crate::commands::open(home)?;
    let accounts: Vec<Ledger> = match partner {
        Some(p) => vec![node.ledger(&crate::commands::party(p, "--partner")?)?],
        None => node.ledgers()?,
    };
    match fmt {
        Format::Json => json(&accounts),
        Format::Human => {
            let mut t = table(&[
                "partner",
                "given",
                "received",
                "balance",
                "limit",
                "state",
                "objects given / received",
            ]);
            for a in &accounts {
                t.add_row(vec![
                    a.partner.clone(),
                    format!("{:.1}", a.given),
                    format!("{:.1}", a.received),
                    format!("{:+.1}", a.balance),
                    a.limit.map_or("none".to_owned(), |l| format!("{l:.1}")),
                    if a.paused {
                        "PAUSED".to_owned()
                    } else {
                        "open".to_owned()
                    },
                    format!("{} / {}", a.deliveries, a.receipts),
                ]);
            }
            println!("{t}");
            for a in accounts.iter().filter(|a| !a.history.is_empty()) {
                let line: Vec<String> = a
                    .history
                    .iter()
                    .map(|(d, b)| format!("{d} {b:+.1}"))
                    .collect();
                println!("{} balance over time: {}", a.partner, line.join(", "));
            }
            Ok(())
        }
    }
}
