//! Email through SES v2: the finished MIME message (with its PDF and XML
//! attachments) is sent as raw content to every recipient at once.

use async_trait::async_trait;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use oms_domain::ports::{Mailer, RawEmail};
use oms_domain::StageError;
use std::sync::Arc;

use crate::usage::Usage;
use crate::{sdk_err, Sdk};

#[derive(Clone)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    usage: Arc<Usage>,
}

impl SesMailer {
    pub fn new(sdk: &Sdk) -> SesMailer {
        SesMailer {
            client: aws_sdk_sesv2::Client::new(&sdk.config),
            usage: sdk.usage.clone(),
        }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: RawEmail) -> Result<(), StageError> {
        let raw = RawMessage::builder()
            .data(Blob::new(email.mime))
            .build()
            .map_err(|e| StageError::permanent(format!("building the email: {e}")))?;
        let sent = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(email.recipients.clone()))
                    .build(),
            )
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await;
        match sent {
            Ok(_) => {
                self.usage.add_ses(email.recipients.len() as u64);
                Ok(())
            }
            // A refused message (bad address, unverified sender, no
            // permission) will be refused again: the stage parks it.
            Err(e) => Err(sdk_err("sending email", e).into()),
        }
    }
}
