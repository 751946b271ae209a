//! Email through SES v2: the finished MIME message (with its PDF and XML
//! attachments) is sent as raw content to every recipient at once.

use async_trait::async_trait;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use oms_domain::ports::{Mailer, RawEmail};
use oms_domain::StageError;
use std::sync::Arc;

use crate::usage::Usage;
use crate::{sdk_err, Clients};

#[derive(Clone)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    usage: Arc<Usage>,
}

impl SesMailer {
    pub fn new(clients: &Clients) -> SesMailer {
        SesMailer {
            client: clients.ses.clone(),
            usage: clients.usage.clone(),
        }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: RawEmail) -> Result<(), StageError> {
        let raw = RawMessage::builder()
            .data(Blob::new(email.mime))
            .build()
            .map_err(|e| StageError::Permanent(format!("building the email: {e}")))?;
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
            // A refused message (bad address, unverified sender) will be
            // refused again: park it. Anything else may pass later.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_bad_request_exception() || s.is_message_rejected()) =>
            {
                Err(StageError::Permanent(
                    sdk_err("SES refused the email", e).to_string(),
                ))
            }
            Err(e) => Err(StageError::Transient(
                sdk_err("sending email", e).to_string(),
            )),
        }
    }
}
