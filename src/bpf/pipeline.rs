//! What happens to each raw record between the rings and the channel:
//! decoded, merged back into time order across the per-CPU rings, and its
//! close attributed to the socket's owner. The probe thread runs one; the
//! `record_path` bench drives one with [`super::synth`] records.

use super::decode::{DecodeError, decode};
use super::merge::Merge;
use super::owners::Owners;
use crate::event::Message;

pub struct Pipeline {
    merge: Merge,
    owners: Owners,
}

impl Pipeline {
    /// For `rings` rings.
    pub fn new(rings: usize) -> Pipeline {
        Pipeline {
            merge: Merge::new(rings),
            owners: Owners::default(),
        }
    }

    /// One record from ring `ring`, held until its time is released.
    pub fn take(&mut self, ring: usize, data: &[u8]) -> Result<(), DecodeError> {
        self.merge.push(ring, decode(data)?);
        Ok(())
    }

    /// Passes every record taken and stamped up to `watermark` to `out`,
    /// in time order, closes attributed; a close nobody can be given (see
    /// [`Owners::attribute`]) is dropped.
    pub fn release(&mut self, watermark: u64, mut out: impl FnMut(Message)) {
        let owners = &mut self.owners;
        self.merge.release(watermark, |mut msg| {
            let keep = match &mut msg {
                Message::Event(ev) => {
                    super::bind_listener(ev);
                    owners.attribute(ev)
                }
                _ => true,
            };
            if keep {
                out(msg);
            }
        });
    }

    pub fn owners(&mut self) -> &mut Owners {
        &mut self.owners
    }
}
