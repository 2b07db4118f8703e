//! An SQS queue subscribed to an SNS topic, for tests that wait for notifications.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_sdk_sqs::types::QueueAttributeName;

pub struct Inbox {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl Inbox {
    /// Creates `queue` and subscribes it to `topic_arn` with raw message delivery.
    pub async fn subscribe(
        sns: &aws_sdk_sns::Client,
        sqs: &aws_sdk_sqs::Client,
        topic_arn: &str,
        queue: &str,
    ) -> Result<Self> {
        let url = sqs.create_queue().queue_name(queue).send().await?.queue_url().context("queue url")?.to_owned();
        let attributes =
            sqs.get_queue_attributes().queue_url(&url).attribute_names(QueueAttributeName::QueueArn).send().await?;
        let arn =
            attributes.attributes().and_then(|a| a.get(&QueueAttributeName::QueueArn)).context("queue arn")?.clone();
        sns.subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(&arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await?;
        Ok(Self { sqs: sqs.clone(), url })
    }

    /// The first JSON message for which `wanted` holds, within `limit`.
    pub async fn wait_for(
        &self,
        limit: Duration,
        wanted: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<serde_json::Value> {
        let deadline = Instant::now() + limit;
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await?;
            let found = out
                .messages()
                .iter()
                .filter_map(|m| m.body())
                .filter_map(|b| serde_json::from_str::<serde_json::Value>(b).ok())
                .find(|v| wanted(v));
            if let Some(found) = found {
                return Ok(found);
            }
            if Instant::now() > deadline {
                bail!("no matching message reached the queue within {limit:?}");
            }
        }
    }
}
