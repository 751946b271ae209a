//! The local mail transport: every email becomes an `.eml` file.

use async_trait::async_trait;
use oms_domain::ports::{Mailer, RawEmail};
use oms_domain::StageError;
use std::path::PathBuf;

/// Writes `<dir>/<email id>.eml`. The file is written under a temporary name
/// and renamed, so a reader never sees half an email, and sending the same
/// email again replaces it instead of adding a duplicate.
#[derive(Clone)]
pub struct MailFolder {
    dir: PathBuf,
    /// One file operation at a time: parallel creates in one directory
    /// contend for its lock in the kernel and cost far more than they gain.
    turn: std::sync::Arc<std::sync::Mutex<()>>,
}

impl MailFolder {
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(MailFolder {
            dir,
            turn: Default::default(),
        })
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Whether the email with this id was written.
    pub fn contains(&self, id: &str) -> bool {
        self.dir.join(format!("{}.eml", file_stem(id))).exists()
    }
}

/// An email id as a safe file name.
fn file_stem(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[async_trait]
impl Mailer for MailFolder {
    async fn send(&self, email: RawEmail) -> Result<(), StageError> {
        let safe = file_stem(&email.id);
        let path = self.dir.join(format!("{safe}.eml"));
        let tmp = self.dir.join(format!(".{safe}.eml.tmp"));
        let turn = self.turn.clone();
        tokio::task::spawn_blocking(move || {
            let _turn = turn.lock().unwrap_or_else(|p| p.into_inner());
            std::fs::write(&tmp, &email.mime)
                .and_then(|_| std::fs::rename(&tmp, &path))
                .map_err(|e| StageError::transient(format!("writing {}: {e}", path.display())))
        })
        .await
        .map_err(|e| StageError::transient(format!("mail task failed: {e}")))?
    }
}
