//! The environment's release lock around a command that changes it.

use std::future::Future;

use super::{Engine, Event};
use crate::cloud::{Cloud, LockAttempt};
use crate::error::{DeployError, RefusalKind, Result};
use crate::ledger::{holder_died_here, rfc3339};

impl<C: Cloud> Engine<'_, C> {
    /// Runs `body` holding the lock, and releases the lock however `body` ends.
    pub(crate) async fn with_lock<T>(&self, body: impl Future<Output = Result<T>>) -> Result<T> {
        self.take_lock().await?;
        let result = body.await;
        if let Err(error) = self.cloud.unlock(&self.holder).await {
            self.tell(Event::LockNotReleased { error: &error });
        }
        result
    }

    /// Takes the lock, or says who holds it. A lock past its expiry, or held by a
    /// process on this host that has died, is taken over.
    async fn take_lock(&self) -> Result<()> {
        for _ in 0..3 {
            match self.cloud.try_lock(&self.holder, self.settings.lock_ttl).await? {
                LockAttempt::Taken => return Ok(()),
                LockAttempt::Contended => continue,
                LockAttempt::Held(current) if holder_died_here(&current.holder) => {
                    self.tell(Event::LockTakenOver { holder: &current.holder });
                    self.cloud.unlock(&current.holder).await?;
                }
                LockAttempt::Held(current) => {
                    return Err(DeployError::refused(
                        RefusalKind::LockHeld,
                        format!(
                            "the release lock of {} is held by {} since {} (expires {})",
                            self.settings.environment,
                            current.holder,
                            current.since,
                            rfc3339(current.expires_s * 1000)
                        ),
                        "wait for that release to finish; a lock whose holder died expires on its own",
                    ))
                }
            }
        }
        Err(DeployError::refused(
            RefusalKind::LockHeld,
            format!("the lock of {} changed hands three times while taking it", self.settings.environment),
            "run again",
        ))
    }
}
