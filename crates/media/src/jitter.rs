//! The audio jitter buffer: packets arrive early, late, out of order or not at all; playout
//! takes one every 20 ms. Pure: no clock, no I/O.
//!
//! It starts playing once `target` packets are buffered (absorbing that much network jitter),
//! hands out packets in sequence order, reports a missing one as lost (with the next packet, whose
//! forward error correction can rebuild it), and keeps latency bounded by skipping ahead when more
//! than `max` packets pile up. After a long underrun it buffers again before playing.

use std::collections::BTreeMap;

/// What to play for the next 20 ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    Packet(Vec<u8>),
    /// This packet is missing; `next` is the following one if it is already here.
    Lost {
        next: Option<Vec<u8>>,
    },
    /// Nothing to play (not started, or ran dry).
    Silence,
}

#[derive(Debug)]
pub struct JitterBuffer {
    packets: BTreeMap<u64, Vec<u8>>,
    /// The sequence number to play next, once playing.
    next: Option<u64>,
    /// The highest sequence number seen, unwrapped (RTP's are 16 bits).
    highest: Option<u64>,
    target: usize,
    max: usize,
    dry_ticks: u32,
}

/// Ticks without packets after which playout buffers up again.
const DRY_TICKS_BEFORE_REBUFFER: u32 = 5;

impl JitterBuffer {
    pub fn new(target: usize, max: usize) -> Self {
        Self {
            packets: BTreeMap::new(),
            next: None,
            highest: None,
            target: target.max(1),
            max: max.max(target + 1),
            dry_ticks: 0,
        }
    }

    fn unwrap(&self, seq: u16) -> u64 {
        let Some(highest) = self.highest else {
            // Start high enough that a first packet shortly after a wrap cannot go negative.
            return (1 << 16) + u64::from(seq);
        };
        let candidate = (highest & !0xffff) | u64::from(seq);
        // The closest of candidate - 65536, candidate, candidate + 65536 to `highest`.
        [
            candidate.saturating_sub(1 << 16),
            candidate,
            candidate + (1 << 16),
        ]
        .into_iter()
        .min_by_key(|value| value.abs_diff(highest))
        .unwrap_or(candidate)
    }

    pub fn push(&mut self, seq: u16, payload: Vec<u8>) {
        let seq = self.unwrap(seq);
        if self.next.is_some_and(|next| seq < next) {
            return; // Too late: its time has passed.
        }
        self.highest = Some(self.highest.map_or(seq, |highest| highest.max(seq)));
        self.packets.insert(seq, payload);
        while self.packets.len() > self.max {
            // Latency bound: drop the oldest and move playout past it.
            if let Some((oldest, _)) = self.packets.pop_first() {
                self.next = self.next.map(|next| next.max(oldest + 1));
            }
        }
    }

    /// The next 20 ms.
    pub fn pop(&mut self) -> Playout {
        let Some(next) = self.next else {
            if self.packets.len() >= self.target {
                self.next = self.packets.keys().next().copied();
                self.dry_ticks = 0;
                return self.pop();
            }
            return Playout::Silence;
        };
        if let Some(packet) = self.packets.remove(&next) {
            self.next = Some(next + 1);
            self.dry_ticks = 0;
            return Playout::Packet(packet);
        }
        if self.packets.is_empty() {
            self.dry_ticks += 1;
            if self.dry_ticks >= DRY_TICKS_BEFORE_REBUFFER {
                self.next = None;
            } else {
                // Keep time: the packet for this slot may still come, the next one will not wait.
                self.next = Some(next + 1);
            }
            return Playout::Lost { next: None };
        }
        self.next = Some(next + 1);
        Playout::Lost {
            next: self.packets.get(&(next + 1)).cloned(),
        }
    }

    pub fn buffered(&self) -> usize {
        self.packets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(n: u16) -> Vec<u8> {
        n.to_be_bytes().to_vec()
    }

    #[test]
    fn reordered_packets_play_in_order_after_the_target_depth() {
        let mut buffer = JitterBuffer::new(3, 10);
        buffer.push(11, packet(11));
        assert_eq!(buffer.pop(), Playout::Silence, "still buffering");
        buffer.push(10, packet(10));
        buffer.push(12, packet(12));
        let played: Vec<Playout> = (0..3).map(|_| buffer.pop()).collect();
        assert_eq!(
            played,
            [10, 11, 12].map(|n| Playout::Packet(packet(n))).to_vec()
        );
    }

    #[test]
    fn a_lost_packet_is_reported_with_the_next_one_for_fec() {
        let mut buffer = JitterBuffer::new(2, 10);
        for n in [1, 3, 4] {
            buffer.push(n, packet(n));
        }
        assert_eq!(buffer.pop(), Playout::Packet(packet(1)));
        assert_eq!(
            buffer.pop(),
            Playout::Lost {
                next: Some(packet(3))
            }
        );
        assert_eq!(buffer.pop(), Playout::Packet(packet(3)));
        // Packet 2 arriving now is too late to matter.
        buffer.push(2, packet(2));
        assert_eq!(buffer.pop(), Playout::Packet(packet(4)));
    }

    #[test]
    fn sequence_numbers_wrap_and_latency_stays_bounded() {
        let mut buffer = JitterBuffer::new(2, 4);
        for n in [65_534u16, 65_535, 0, 1, 2, 3] {
            buffer.push(n, packet(n));
        }
        assert_eq!(buffer.buffered(), 4, "the two oldest were dropped");
        let played: Vec<Playout> = (0..4).map(|_| buffer.pop()).collect();
        assert_eq!(
            played,
            [0, 1, 2, 3].map(|n| Playout::Packet(packet(n))).to_vec()
        );
    }

    #[test]
    fn a_long_underrun_buffers_again() {
        let mut buffer = JitterBuffer::new(2, 10);
        buffer.push(1, packet(1));
        buffer.push(2, packet(2));
        buffer.pop();
        buffer.pop();
        for _ in 0..DRY_TICKS_BEFORE_REBUFFER {
            assert_eq!(buffer.pop(), Playout::Lost { next: None });
        }
        assert_eq!(buffer.pop(), Playout::Silence, "buffering again");
        buffer.push(9, packet(9));
        buffer.push(10, packet(10));
        assert_eq!(buffer.pop(), Playout::Packet(packet(9)));
    }
}
