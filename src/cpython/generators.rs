//! Generators, coroutines and async generators, which share one C head
//! (`_PyGenObject_HEAD`): their qualified name and, on 3.11+, the frame they
//! embed and its state, read through [`mem`](super::mem) at the generated
//! `gen_*` offsets.
//!
//! Since 3.14 the struct is private (`internal/pycore_interpframe_structs.h`),
//! so no public declaration (pyo3's included) describes it; the layout
//! measured from each version's headers does, for every version alike.
//! [`verify_generator_types`] checks it against the live type objects (name,
//! metatype, `tp_basicsize`, `tp_weaklistoffset`), and on 3.14+ the
//! interpreter's own `_Py_DebugOffsets.gen_object` confirms `gi_name`,
//! `gi_iframe` and `gi_frame_state` before anything is used
//! ([`check_layout`](super::check::check_layout)).

use super::frames::{generator_frame, FrameRecord, TypeChecks};
use super::mem::{isize_at, Memory};
use super::objects::ob_type;
use super::types::expect_type_named;
use super::{Layout, LayoutError};

/// The addresses of the three types (from public APIs; 0 = not given).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeneratorTypes {
    pub generator: usize,
    pub coroutine: usize,
    pub async_generator: usize,
}

impl GeneratorTypes {
    /// `ty` is one of the three (an extension type that merely shares a
    /// name, such as an old Cython coroutine, is not).
    pub fn contains(&self, ty: usize) -> bool {
        ty != 0 && [self.generator, self.coroutine, self.async_generator].contains(&ty)
    }
}

/// The three types are laid out as the layout says: each is named as
/// expected, is an instance of `type_type`, and its `tp_basicsize` and
/// `tp_weaklistoffset` are the ones the headers give (a coroutine's and an
/// async generator's size at least the generator's: its head is theirs).
pub fn verify_generator_types(l: &Layout, t: &GeneratorTypes, type_type: usize) -> Result<(), LayoutError> {
    let basicsize = l.need(l.basicsize_gen, "generator tp_basicsize")?;
    let weaklist = l.need(l.gen_weakreflist, "PyGenObject.gi_weakreflist")?;
    let weaklist_at = l.need(l.tp_weaklistoffset, "tp_weaklistoffset")?;
    for (ty, name, what) in [
        (t.generator, "generator", "generator type"),
        (t.coroutine, "coroutine", "coroutine type"),
        (t.async_generator, "async_generator", "async_generator type"),
    ] {
        if ty == 0 {
            continue;
        }
        let info = expect_type_named(l, ty, name, what)?;
        let meta = ob_type(ty)?;
        if meta != type_type {
            return Err(LayoutError::mismatch(what, ty, format!("an instance of type ({type_type:#x})"), meta));
        }
        // Up to 3.10 a coroutine (`cr_origin`) and an async generator (its
        // finalizer and flags) add fields after the generator's head; only
        // that head is read, so it must be a prefix of theirs.
        let fits = if name == "generator" { info.basicsize == basicsize } else { info.basicsize >= basicsize };
        if !fits {
            return Err(LayoutError::mismatch(what, ty, format!("tp_basicsize {basicsize} (from the headers)"), info.basicsize));
        }
        let found = isize_at(ty + weaklist_at, "tp_weaklistoffset")?;
        if found != weaklist as isize {
            return Err(LayoutError::mismatch(what, ty, format!("tp_weaklistoffset {weaklist} (gi_weakreflist)"), found as usize));
        }
    }
    Ok(())
}

// The readers below take the memory to read through: a capture reads a
// generator of a checked type in place (its own fields, like a managed
// dict's words), the tests through the kernel.

/// `gi_qualname` (a strong reference; the caller checks it is a str).
pub fn generator_qualname(m: &impl Memory, l: &Layout, o: usize) -> Result<usize, LayoutError> {
    m.word(o + l.need(l.gen_qualname, "PyGenObject.gi_qualname")?, "gi_qualname")
}

/// 3.11's `gi_code` (no member or getset reports it there); `None` on the
/// versions without the field.
pub fn generator_code(m: &impl Memory, l: &Layout, o: usize) -> Result<Option<usize>, LayoutError> {
    l.gen_code.map(|off| m.word(o + off, "gi_code")).transpose()
}

/// Where a 3.11+ generator's frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenState {
    /// Created or suspended: the frame's saved stack pointer is current.
    Suspended,
    /// On a thread's stack right now: its slots are current, its stack is not.
    Running,
    /// Completed or cleared: the frame holds nothing.
    Finished,
}

/// `gi_frame_state` of a 3.11+ generator, compared with `FRAME_EXECUTING`
/// (whose number, like the others', changes between versions).
pub fn generator_state(m: &impl Memory, l: &Layout, o: usize) -> Result<GenState, LayoutError> {
    let size = l.need(l.gen_frame_state_size, "sizeof(gi_frame_state)")?;
    if size != 1 {
        return Err(LayoutError::mismatch("sizeof(gi_frame_state)", 0, "1 byte", size));
    }
    let executing = l.need(l.frame_state_executing, "FRAME_EXECUTING")? as i64;
    let byte = m.bytes(o + l.need(l.gen_frame_state, "PyGenObject.gi_frame_state")?, 1, "gi_frame_state")?;
    let state = i64::from(byte[0] as i8);
    Ok(match state.cmp(&executing) {
        std::cmp::Ordering::Less => GenState::Suspended,
        std::cmp::Ordering::Equal => GenState::Running,
        std::cmp::Ordering::Greater => GenState::Finished,
    })
}

/// The frame a 3.11+ generator embeds, read and type-checked like a
/// thread's frames (through the kernel: the frame's pointers lead to other
/// objects); `None` when the generator has finished.
pub fn generator_own_frame(m: &impl Memory, l: &Layout, o: usize, checks: &TypeChecks) -> Result<Option<FrameRecord>, LayoutError> {
    let state = generator_state(m, l, o)?;
    if state == GenState::Finished {
        return Ok(None);
    }
    let iframe = o + l.need(l.gen_iframe, "PyGenObject.gi_iframe")?;
    generator_frame(l, iframe, checks, state == GenState::Suspended).map(Some)
}

#[cfg(test)]
mod tests {
    use super::super::fake::Fake;
    use super::super::generated_layout;
    use super::super::mem::Checked;
    use super::super::types::tests::fake_type;
    use super::*;

    fn fake_gen_type(fake: &mut Fake, l: &Layout, name: &str, type_type: usize) -> usize {
        let ty = fake_type(fake, l, name, l.basicsize_gen.unwrap(), &[], 0);
        fake.put_usize(ty + super::super::objects::OB_TYPE, type_type);
        fake.put_isize(ty + l.tp_weaklistoffset.unwrap(), l.gen_weakreflist.unwrap() as isize);
        ty
    }

    #[test]
    fn every_version_has_the_generator_head_and_3_14_checks_it_against_the_debug_table() {
        for minor in 9..=15 {
            let l = generated_layout(3, minor).unwrap();
            assert!(l.gen_qualname.is_some() && l.gen_name.is_some() && l.basicsize_gen.is_some(), "3.{minor}");
            assert_eq!(l.gen_iframe.is_some(), minor >= 11, "3.{minor}");
            assert_eq!(l.gen_code.is_some(), minor == 11, "3.{minor}");
            let checked: Vec<&str> = l.debug_checks.iter().map(|c| c.what).filter(|w| w.starts_with("gen_object.")).collect();
            assert_eq!(checked.len(), if minor >= 14 { 4 } else { 0 }, "3.{minor}: {checked:?}");
        }
        // 3.15 renumbered the frame states.
        assert_eq!(generated_layout(3, 14).unwrap().frame_state_executing, Some(0));
        assert_eq!(generated_layout(3, 15).unwrap().frame_state_executing, Some(4));
    }

    #[test]
    fn reads_name_and_state_and_refuses_a_wrong_type() {
        for minor in 9..=15 {
            let l = generated_layout(3, minor).unwrap();
            let mut fake = Fake::new();
            let type_type = fake.alloc(8);
            let t = GeneratorTypes {
                generator: fake_gen_type(&mut fake, l, "generator", type_type),
                coroutine: fake_gen_type(&mut fake, l, "coroutine", type_type),
                async_generator: fake_gen_type(&mut fake, l, "async_generator", type_type),
            };
            verify_generator_types(l, &t, type_type).unwrap();
            assert!(t.contains(t.coroutine) && !t.contains(0) && !t.contains(type_type));
            let o = fake.object(l.basicsize_gen.unwrap() + 64, t.coroutine);
            fake.put_usize(o + l.gen_qualname.unwrap(), 0x1234_5678);
            assert_eq!(generator_qualname(&Checked, l, o).unwrap(), 0x1234_5678);
            if let Some(at) = l.gen_code {
                fake.put_usize(o + at, 0x4444_0000);
            }
            assert_eq!(generator_code(&Checked, l, o).unwrap(), l.gen_code.map(|_| 0x4444_0000));
            if let Some(at) = l.gen_frame_state {
                let executing = l.frame_state_executing.unwrap() as i64;
                for (state, expected) in
                    [(executing - 1, GenState::Suspended), (executing, GenState::Running), (executing + 1, GenState::Finished)]
                {
                    fake.put_u8(at + o, state as i8 as u8);
                    assert_eq!(generator_state(&Checked, l, o).unwrap(), expected, "3.{minor} state {state}");
                }
                let checks = TypeChecks { code: 1, frame: 2, tuple: 3, dict: 4, function: 5 };
                assert_eq!(generator_own_frame(&Checked, l, o, &checks).unwrap(), None);
            }
            // A type of another size, or with another weakref offset, is refused.
            let bad = fake_gen_type(&mut fake, l, "generator", type_type);
            fake.put_usize(bad + l.tp_basicsize.unwrap(), l.basicsize_gen.unwrap() + 8);
            let e = verify_generator_types(l, &GeneratorTypes { generator: bad, ..t }, type_type).unwrap_err();
            assert!(e.to_string().contains("tp_basicsize"), "{e}");
            // A coroutine may add fields after the head (3.9/3.10's
            // cr_origin), never be smaller than it.
            let longer = fake_gen_type(&mut fake, l, "coroutine", type_type);
            fake.put_usize(longer + l.tp_basicsize.unwrap(), l.basicsize_gen.unwrap() + 8);
            verify_generator_types(l, &GeneratorTypes { coroutine: longer, ..t }, type_type).unwrap();
            fake.put_usize(longer + l.tp_basicsize.unwrap(), l.basicsize_gen.unwrap() - 8);
            let e = verify_generator_types(l, &GeneratorTypes { coroutine: longer, ..t }, type_type).unwrap_err();
            assert!(e.to_string().contains("tp_basicsize"), "{e}");
            let bad = fake_gen_type(&mut fake, l, "coroutine", type_type);
            fake.put_isize(bad + l.tp_weaklistoffset.unwrap(), 8);
            let e = verify_generator_types(l, &GeneratorTypes { coroutine: bad, ..t }, type_type).unwrap_err();
            assert!(e.to_string().contains("tp_weaklistoffset"), "{e}");
            let e = verify_generator_types(l, &GeneratorTypes { generator: t.coroutine, ..t }, type_type).unwrap_err();
            assert!(e.to_string().contains("tp_name \"generator\""), "{e}");
        }
    }
}
