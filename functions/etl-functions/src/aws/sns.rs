//! [`Alerts`] over the SNS SDK client.

use etl_core::EtlError;

use super::{classify, Alerts};

pub struct SnsAlerts {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsAlerts {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: String) -> Self {
        Self { client, topic_arn }
    }
}

impl Alerts for SnsAlerts {
    async fn publish(&self, subject: &str, message: &str) -> Result<(), EtlError> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject.chars().take(100).collect::<String>())
            .message(message)
            .send()
            .await
            .map_err(|e| classify(&format!("publishing to {}", self.topic_arn), &e))?;
        Ok(())
    }
}
