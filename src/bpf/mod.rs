//! The eBPF probe: its C program, the shared record header and the loader.
//! Raw records are decoded here; nothing outside this module sees an FFI
//! type.

#[allow(clippy::all, clippy::pedantic, dead_code, unsafe_op_in_unsafe_fn, non_camel_case_types)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/causeway.skel.rs"));
}
