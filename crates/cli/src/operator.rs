//! `liaison operator add|list`: the people who use the console. A password is read from
//! standard input or an environment variable, never from the command line, and only its
//! Argon2 hash is kept.

use std::path::Path;

use anyhow::anyhow;
use liaison_release::Role;
use serde_json::json;

use crate::output::Format;

pub(crate) fn add(
    home: &Path,
    name: &str,
    role: &str,
    from_env: Option<&str>,
    fmt: Format,
) -> anyhow::Result<()> {
    let role: Role = role.parse()?;
    let password = match from_env {
        Some(var) => std::env::var(var).map_err(|_| anyhow!("`{var}` is not set"))?,
        None => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let mut node = crate::commands::open(home)?;
    node.add_operator(name, role, &password, "cli")?;
    match fmt {
        Format::Json => {
            println!("{}", json!({"operator": name, "role": role.as_str()}));
        }
        Format::Human => {
            println!("operator {name} ({role}) set (only its Argon2 hash is kept)");
        }
    }
    Ok(())
}

pub(crate) fn list(home: &Path, fmt: Format) -> anyhow::Result<()> {
    let node = crate::commands::open(home)?;
    let operators = node.operators()?;
    match fmt {
        Format::Json => {
            let list: Vec<_> = operators
                .iter()
                .map(|(name, role)| json!({"operator": name, "role": role}))
                .collect();
            println!("{}", serde_json::Value::Array(list));
        }
        Format::Human => {
            for (name, role) in &operators {
                println!("{name}\t{role}");
            }
            if operators.is_empty() {
                println!("no operators (add one with `liaison operator add NAME --role analyst|officer`)");
            }
        }
    }
    Ok(())
}
