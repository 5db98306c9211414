//! The program language: parser errors, canonical printing, the bound check, generation.

use arbitrary::{Arbitrary, Unstructured};
use ticketdiff::program::{
    check_bounds, load, load_named, parse, parse_named, read_text, CacheMode, ConnectFlags,
    CtxConfig, LoadError, Op, OpKind, Program, Resume, TicketDec, TicketGen, MAX_OPS,
};

fn err(text: &str) -> ticketdiff::program::ParseError {
    parse_named(text, "t.tkt").expect_err("should not parse")
}

#[test]
fn parses_every_op_with_comments_blank_lines_and_tabs() {
    let text = "# header\n\nctx_set_num_tickets 256\nctx_get_num_tickets\n\
                connect\tpha  resume # flags in any order\nset_num_tickets 0\nget_num_tickets\n\
                handshake\nclient_step\nserver_step\nnew_session_ticket\nserver_write 0\n\
                server_read\nserver_do_handshake\nclient_read\nclient_write 17\n\
                verify_client_post_handshake\nshutdown\n";
    let p = parse(text).unwrap();
    let ops: Vec<Op> = p.ops().collect();
    assert_eq!(ops.len(), 16);
    assert_eq!(ops[0], Op::CtxSetNumTickets(256));
    assert_eq!(
        ops[2],
        Op::Connect(ConnectFlags {
            resume: Resume::Newest,
            pha: true,
            ..ConnectFlags::default()
        })
    );
    assert_eq!(p.stmts[0].line, 3);
    assert_eq!(p.stmts[15].line, 18);
    assert_eq!(ops[2].to_string(), "connect resume pha");
}

#[test]
fn errors_name_file_line_column_and_token() {
    let e = err("connect\n  handshak\n");
    assert_eq!((e.file.as_str(), e.line, e.column), ("t.tkt", 2, 3));
    assert!(e.message.contains("unknown op `handshak`"), "{e}");
    assert_eq!(e.to_string(), "t.tkt:2:3: unknown op `handshak`");

    let e = err("set_num_tickets\n");
    assert_eq!((e.line, e.column), (1, 1));
    assert!(e.message.contains("needs a number"), "{e}");

    let e = err("set_num_tickets 18446744073709551616\n");
    assert_eq!(e.column, 17);
    assert!(e.message.contains("does not fit in a u64"), "{e}");

    let e = err("set_num_tickets -1\n");
    assert!(e.message.contains("`-1` is not a decimal number"), "{e}");

    let e = err("handshake now\n");
    assert_eq!(e.column, 11);
    assert!(e.message.contains("unexpected argument `now`"), "{e}");

    let e = err("connect resume resume\n");
    assert!(e.message.contains("given twice"), "{e}");

    let e = err("connect tls13\n");
    assert!(e.message.contains("unknown `connect` flag `tls13`"), "{e}");

    let e = err("server_write 1 2\n");
    assert!(e.message.contains("unexpected argument `2`"), "{e}");
}

#[test]
fn the_op_limit_is_one_thousand() {
    let ok = "get_num_tickets\n".repeat(MAX_OPS);
    assert_eq!(parse(&ok).unwrap().len(), MAX_OPS);
    let e = err(&"get_num_tickets\n".repeat(MAX_OPS + 1));
    assert_eq!(e.line, MAX_OPS as u32 + 1);
    assert!(e.message.contains("at most 1000"), "{e}");
}

#[test]
fn bound_check_rejects_large_counts_only_where_tickets_may_be_sent() {
    // Plain set/get round trips of any u64 are valid.
    parse("ctx_set_num_tickets 18446744073709551615\nctx_get_num_tickets\n").unwrap();
    parse("connect\nset_num_tickets 1000\nget_num_tickets\nset_num_tickets 3\nhandshake\n")
        .unwrap();
    // A large ctx count is in effect for the next connect: rejected wherever tickets may be
    // sent, even on a connection that copied a small count, even without a connection.
    let e = err("connect\nctx_set_num_tickets 1000\nhandshake\n");
    assert_eq!(e.line, 3);
    assert!(
        e.message
            .contains("the ctx's ticket count is 1000 (set on line 2)"),
        "{e}"
    );
    assert_eq!(err("ctx_set_num_tickets 1000\nshutdown\n").line, 2);
    parse("ctx_set_num_tickets 1000\nctx_get_num_tickets\nctx_set_num_tickets 2\nconnect\nhandshake\n")
        .unwrap();
    // 256 is the largest count allowed in effect.
    parse("ctx_set_num_tickets 256\nconnect\nhandshake\n").unwrap();

    let e = err("ctx_set_num_tickets 257\nconnect\nhandshake\n");
    assert_eq!(e.line, 3);
    assert!(
        e.message
            .contains("the ctx's ticket count is 257 (set on line 1)"),
        "{e}"
    );

    let e = err("connect\nhandshake\nset_num_tickets 300\nnew_session_ticket\n");
    assert_eq!(e.line, 4);
    assert!(e.message.contains("set on line 3"), "{e}");

    // set_num_tickets without a connection changes nothing.
    parse("set_num_tickets 1000\nconnect\nhandshake\n").unwrap();

    let e = err("connect\nserver_write 1048577\n");
    assert_eq!(e.line, 2);
    assert!(e.message.contains("at most 1048576"), "{e}");
}

#[test]
fn every_op_in_the_table_may_send_tickets_unless_it_only_sets_or_gets() {
    for op in [
        "handshake",
        "client_step",
        "server_step",
        "new_session_ticket",
        "server_write 1",
        "server_read",
        "server_do_handshake",
        "client_read",
        "client_write 1",
        "verify_client_post_handshake",
        "shutdown",
    ] {
        let text = format!("connect\nset_num_tickets 257\n{op}\n");
        assert_eq!(err(&text).line, 3, "{op}");
    }
    parse("connect\nset_num_tickets 257\nget_num_tickets\nctx_get_num_tickets\n").unwrap();
}

/// A small deterministic byte source, so the property runs over many inputs without a fuzzer.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn print_then_parse_is_the_identity_on_generated_programs() {
    let mut distinct_ops = std::collections::HashSet::new();
    for seed in 0..3000u64 {
        let data = bytes(seed, (seed % 400) as usize);
        let program = Program::arbitrary(&mut Unstructured::new(&data)).unwrap();
        assert!(program.len() <= 64);
        check_bounds(&program).unwrap_or_else(|e| panic!("generated invalid program: {e}"));
        let text = program.to_string();
        let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, program, "{text}");
        distinct_ops.extend(program.ops().map(|o| o.name()));
    }
    // The generator reaches the whole table.
    assert_eq!(distinct_ops.len(), OpKind::ALL.len(), "{distinct_ops:?}");
}

#[test]
fn generated_counts_favour_the_interesting_values_but_reach_any_u64() {
    let mut small = 0;
    let mut huge = 0;
    for seed in 0..3000u64 {
        let data = bytes(seed, 300);
        let program = Program::arbitrary(&mut Unstructured::new(&data)).unwrap();
        for op in program.ops() {
            if let Op::SetNumTickets(n) | Op::CtxSetNumTickets(n) = op {
                if n <= 256 {
                    small += 1;
                } else {
                    huge += 1;
                }
            }
        }
    }
    assert!(small > 10 * huge, "small {small} huge {huge}");
    assert!(huge > 0, "no count above 256 was ever generated");
}

#[test]
fn truncated_or_empty_fuzz_input_still_gives_a_valid_program() {
    for len in 0..8 {
        let data = bytes(7, len);
        let p = Program::arbitrary(&mut Unstructured::new(&data)).unwrap();
        check_bounds(&p).unwrap();
    }
}

#[test]
fn files_that_are_not_utf8_or_missing_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.tkt");
    // `é` and the combining accent are two bytes and one column each: columns count characters.
    let mut bytes = "connect\né\u{301}hand".as_bytes().to_vec();
    bytes.push(0xff);
    bytes.extend_from_slice(b"shake\n");
    std::fs::write(&bad, &bytes).unwrap();
    let e = load(&bad).unwrap_err();
    assert_eq!(e.line(), Some(2));
    assert!(
        e.to_string()
            .ends_with("bad.tkt:2:7: the file is not valid UTF-8 (found \\xff)"),
        "{e}"
    );
    let e = load(&dir.path().join("missing.tkt")).unwrap_err();
    assert!(matches!(e, LoadError::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("missing.tkt: cannot read"), "{e}");
}

#[test]
fn load_keeps_the_text_and_names_parse_errors_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.tkt");
    let text = "# comment\r\nconnect   # expect ret=0\r\nhandshake\r\n";
    std::fs::write(&path, text).unwrap();
    let file = load(&path).unwrap();
    assert_eq!(
        (file.path.as_path(), file.text.as_str()),
        (path.as_path(), text)
    );
    assert_eq!(file.program.len(), 2);
    assert_eq!(file.program.stmts[1].line, 3);
    assert_eq!(read_text(&path, "shown.tkt").unwrap(), text);

    std::fs::write(&path, "connect\nhandshak\n").unwrap();
    let e = load_named(&path, "diff/entry.tkt").unwrap_err();
    assert_eq!(e.to_string(), "diff/entry.tkt:2:1: unknown op `handshak`");
    assert_eq!((e.file(), e.line()), ("diff/entry.tkt", Some(2)));
}

#[test]
fn parses_every_version_2_op_and_flag_and_prints_them_canonically() {
    let text = "ctx_set_options allow_no_dhe_kex no_ticket\n\
                ctx_clear_options no_anti_replay\n\
                ctx_set_ciphersuites TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256\n\
                ctx_set_max_early_data 4294967295\n\
                ctx_set_session_cache_mode off\n\
                ctx_set_ticket_cb fail ignore_renew\n\
                connect early=16384 groups=P-256:X25519 psk_ke resume=again suites=TLS_CHACHA20_POLY1305_SHA256\n\
                server_read_early\n\
                key_update   requested\n\
                key_update\n";
    let p = parse(text).unwrap();
    let ops: Vec<Op> = p.ops().collect();
    assert_eq!(
        ops[4],
        Op::Configure(CtxConfig::SessionCacheMode(CacheMode::Off))
    );
    assert_eq!(
        ops[5],
        Op::Configure(CtxConfig::TicketCb(TicketGen::Fail, TicketDec::IgnoreRenew))
    );
    assert_eq!(ops[8], Op::KeyUpdate { requested: true });
    let Op::Connect(flags) = ops[6] else {
        panic!("{:?}", ops[6])
    };
    assert_eq!(flags.resume, Resume::Again);
    assert_eq!(flags.early, Some(16384));
    assert_eq!(
        p.to_string(),
        "ctx_set_options no_ticket allow_no_dhe_kex\n\
         ctx_clear_options no_anti_replay\n\
         ctx_set_ciphersuites TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256\n\
         ctx_set_max_early_data 4294967295\n\
         ctx_set_session_cache_mode off\n\
         ctx_set_ticket_cb fail ignore_renew\n\
         connect resume=again psk_ke suites=TLS_CHACHA20_POLY1305_SHA256 groups=P-256:X25519 early=16384\n\
         server_read_early\n\
         key_update requested\n\
         key_update\n"
    );
    assert_eq!(parse(&p.to_string()).unwrap().to_string(), p.to_string());
}

#[test]
fn version_2_errors_name_the_line_and_the_token() {
    for (text, line, column, needle) in [
        (
            "connect\nctx_set_options\n",
            2,
            1,
            "needs one or more options",
        ),
        (
            "ctx_set_options no_ticket no_tickets\n",
            1,
            27,
            "`no_tickets` is not a option",
        ),
        (
            "ctx_set_options no_ticket no_ticket\n",
            1,
            27,
            "given twice",
        ),
        (
            "ctx_set_ciphersuites TLS_AES_128_GCM_SHA256:RC4\n",
            1,
            22,
            "`RC4` is not a cipher suite",
        ),
        ("ctx_set_ciphersuites\n", 1, 1, "needs an argument"),
        (
            "ctx_set_session_cache_mode client\n",
            1,
            28,
            "not a session cache mode",
        ),
        ("ctx_set_ticket_cb ok\n", 1, 1, "takes two arguments"),
        (
            "ctx_set_ticket_cb ok use extra\n",
            1,
            26,
            "unexpected argument",
        ),
        (
            "ctx_set_ticket_cb ok reuse\n",
            1,
            22,
            "not a decrypt callback result",
        ),
        ("key_update now\n", 1, 12, "takes nothing or `requested`"),
        ("key_update requested requested\n", 1, 22, "takes none"),
        ("connect resume resume=again\n", 1, 16, "given twice"),
        ("connect resume=later\n", 1, 9, "resume=again"),
        ("connect groups=X448\n", 1, 9, "not a group"),
        ("connect early\n", 1, 9, "needs a value"),
        ("connect pha=1\n", 1, 9, "takes no value"),
        ("connect early=-1\n", 1, 9, "not a decimal number"),
        ("server_read_early 1\n", 1, 19, "takes none"),
    ] {
        let e = err(text);
        assert_eq!((e.line, e.column), (line, column), "{text:?}: {e}");
        assert!(e.message.contains(needle), "{text:?}: {e}");
    }
}

#[test]
fn version_2_bounds_name_the_line() {
    let e = err("connect\nctx_set_max_early_data 4294967296\n");
    assert_eq!(e.line, 2);
    assert!(e.message.contains("at most 4294967295"), "{e}");
    assert!(parse("ctx_set_max_early_data 4294967295\n").is_ok());
    let e = err("connect resume early=1048577\n");
    assert_eq!(e.line, 1);
    assert!(e.message.contains("at most 1048576"), "{e}");
    assert!(parse("connect resume early=1048576\n").is_ok());
}

#[test]
fn generated_programs_use_version_2_ops_often_and_are_valid() {
    let mut v2 = 0;
    let mut again_without_tickets = 0;
    let total = 2000;
    for seed in 0..total {
        let bytes: Vec<u8> = (0..512u32)
            .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed * 7919) >> 13) as u8)
            .collect();
        let p = Program::arbitrary(&mut Unstructured::new(&bytes)).unwrap();
        check_bounds(&p).unwrap();
        assert_eq!(parse(&p.to_string()).unwrap().renumbered(), p.renumbered());
        if p.ops().any(|op| op.is_v2()) {
            v2 += 1;
        }
        let no_ticket = p
            .ops()
            .any(|op| matches!(op, Op::Configure(CtxConfig::SetOptions(o)) if o.no_ticket));
        let again = p
            .ops()
            .any(|op| matches!(op, Op::Connect(f) if f.resume == Resume::Again));
        if no_ticket && again {
            again_without_tickets += 1;
        }
    }
    assert!(
        v2 * 3 > total,
        "only {v2} of {total} programs use a version 2 op"
    );
    assert!(
        again_without_tickets > 0,
        "no_ticket with resume=again never generated"
    );
}
