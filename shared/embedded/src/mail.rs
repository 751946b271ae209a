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
}

impl MailFolder {
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(MailFolder { dir })
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for MailFolder {
    async fn send(&self, email: RawEmail) -> Result<(), StageError> {
        let safe: String = email
            .id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = self.dir.join(format!("{safe}.eml"));
        let tmp = self.dir.join(format!(".{safe}.eml.tmp"));
        let io =
            |e: std::io::Error| StageError::Transient(format!("writing {}: {e}", path.display()));
        tokio::fs::write(&tmp, &email.mime).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)?;
        Ok(())
    }
}
