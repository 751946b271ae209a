//! The command refuses bad configuration with one clear line and exit code 1.

use std::process::Command;

fn oms(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oms"));
    cmd.args(args).current_dir(dir.path());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("OMS_")) {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_configuration_is_named_and_refused() {
    let (code, err) = oms(
        &[
            "serve",
            "--data-dir",
            "d",
            "--warehouse-url",
            "http://127.0.0.1:9/x",
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(err.trim(), "oms: missing or invalid configuration: OMS_WAREHOUSE_SECRET must be set when a warehouse URL is given: hand-offs are signed with it");
    let (code, err) = oms(
        &["serve", "--data-dir", "d"],
        &[("OMS_MAX_ATTEMPTS", "many"), ("OMS_SELLER_COUNTRY", "de")],
    );
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "oms: missing or invalid configuration: OMS_MAX_ATTEMPTS must be a whole number, not `many`; OMS_SELLER_COUNTRY must be an ISO 3166-1 alpha-2 code in upper case, not `de`",
        "every problem at once"
    );
    let (code, err) = oms(&["serve", "--data-dir", "d", "--listen", "nowhere"], &[]);
    assert_eq!(code, 1);
    assert!(err.starts_with("oms: listening on nowhere"), "{err}");
}

#[test]
fn admin_on_a_missing_data_dir_says_so() {
    let (code, err) = oms(&["admin", "--data-dir", "missing", "dead-letters"], &[]);
    assert_eq!((code, err.trim()), (1, "oms: no oms database in missing"));
}
