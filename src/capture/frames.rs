//! The frames of every thread, as the capture uses them: which are the
//! caller's (observers, left out and subtracted), which are roots, and
//! what a frame that is no object of the heap holds.

use super::source::{Addr, FrameData, ThreadFrames};

/// One running frame of one thread.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    pub thread: u64,
    pub data: FrameData,
    /// Belongs to the caller of refgraph: left out, its references subtracted.
    pub observer: bool,
}

impl Frame {
    /// The address the frame is a node at: its object, or its record.
    pub fn node_addr(&self) -> Addr {
        self.data.object.unwrap_or(self.data.addr)
    }
}

/// Flattens the threads' frames, newest first per thread; the newest
/// `observers` frames of the capturing thread are the caller's.
pub(crate) fn frames_of(threads: Vec<ThreadFrames>, observers: usize) -> Vec<Frame> {
    let mut out = Vec::new();
    for t in threads {
        for data in t.frames {
            let observer = t.current && (data.depth as usize) < observers;
            out.push(Frame { thread: t.thread, data, observer });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(depth: u32) -> FrameData {
        FrameData {
            depth,
            addr: 0x1000 + depth as usize * 0x100,
            object: None,
            frame_object: None,
            refs: vec![],
            function: format!("f{depth}"),
            stack_unsure: vec![],
        }
    }

    #[test]
    fn only_the_capturing_threads_newest_frames_are_observers() {
        let threads = vec![
            ThreadFrames { thread: 1, current: false, frames: vec![frame(0), frame(1)] },
            ThreadFrames { thread: 2, current: true, frames: vec![frame(0), frame(1), frame(2)] },
        ];
        let frames = frames_of(threads, 2);
        let observers: Vec<(u64, u32)> = frames.iter().filter(|f| f.observer).map(|f| (f.thread, f.data.depth)).collect();
        assert_eq!(observers, vec![(2, 0), (2, 1)]);
        assert_eq!(frames.len(), 5);
    }
}
