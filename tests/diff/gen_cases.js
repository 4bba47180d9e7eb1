#!/usr/bin/env node
//  gen_cases.js - writes the corpus of the llhttp differential test:
//    cases/*.http      hand-collected cases (smuggling, framing, grammar);
//    cases/gen/*.http  byte-class sweeps and value lists, generated below.
//  A file is named NAME.TAG.http, TAG being what Baton must answer: accept,
//  reject or incomplete (input ends inside a message). diff_driver.js checks
//  the tag and compares with llhttp. The output is deterministic; rerun after
//  editing this file:  node tests/diff/gen_cases.js
//  Sources of the smuggling cases: J. Kettle, "HTTP Desync Attacks" (2019)
//  and the PortSwigger Web Security Academy request smuggling labs (CL.TE,
//  TE.CL, TE.TE obfuscations); Linhart/Klein et al., "HTTP Request Smuggling"
//  (Watchfire, 2005); RFC 9112 sections 6.1, 6.3 and 11.2; llhttp's and
//  picohttpparser's test suites (bare LF/CR, NUL, chunk size forms).
'use strict';

const fs = require('fs');
const path = require('path');

const H = 'Host: example.com\r\n';
const POST = 'POST / HTTP/1.1\r\n' + H;
const CHUNKED = POST + 'Transfer-Encoding: chunked\r\n\r\n';
const smuggledChunk = (data) => data.length.toString(16) + '\r\n' + data + '\r\n';

//  [name, raw, tag]
const hand = [
  //  --- well-formed traffic -------------------------------------------------
  ['ok_get_minimal', 'GET / HTTP/1.1\r\n' + H + '\r\n', 'accept'],
  ['ok_get_query_and_headers', 'GET /a/b?c=d&e=%20 HTTP/1.1\r\n' + H + 'Accept: */*\r\nUser-Agent: x/1\r\n\r\n', 'accept'],
  ['ok_post_content_length', POST + 'Content-Length: 5\r\n\r\nhello', 'accept'],
  ['ok_post_chunked', CHUNKED + '5\r\nhello\r\n0\r\n\r\n', 'accept'],
  ['ok_chunked_ext_and_trailer', CHUNKED + '5;a=b;c="d;\\"e"\r\nhello\r\n0;last\r\nX-Trailer: t\r\n\r\n', 'accept'],
  ['ok_chunked_leading_zeros_uppercase', CHUNKED + '000A\r\n0123456789\r\n00\r\n\r\n', 'accept'],
  ['ok_pipelined_three', 'GET /1 HTTP/1.1\r\n' + H + '\r\n' + POST + 'Content-Length: 2\r\n\r\nhi' + 'GET /3 HTTP/1.1\r\n' + H + '\r\n', 'accept'],
  ['ok_pipelined_chunked_then_get', CHUNKED + '3\r\nabc\r\n0\r\n\r\n' + 'GET /2 HTTP/1.1\r\n' + H + '\r\n', 'accept'],
  ['ok_leading_empty_line', '\r\nGET / HTTP/1.1\r\n' + H + '\r\n', 'accept'],
  ['ok_crlf_between_pipelined', POST + 'Content-Length: 2\r\n\r\nhi\r\nGET / HTTP/1.1\r\n' + H + '\r\n', 'accept'],
  ['ok_http10_keep_alive_pipelined', 'GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n', 'accept'],
  ['ok_http10_closes_then_data', 'GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.0\r\n\r\n', 'accept'],
  ['ok_connection_close_then_data', 'GET /1 HTTP/1.1\r\n' + H + 'Connection: close\r\n\r\nGET /2 HTTP/1.1\r\n' + H + '\r\n', 'accept'],
  ['ok_upgrade_then_bytes', 'GET /ws HTTP/1.1\r\n' + H + 'Connection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /2 HTTP/1.1\r\n' + H + '\r\n', 'accept'],
  ['ok_h2c_upgrade_then_bytes', 'GET / HTTP/1.1\r\n' + H + 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\nGET /admin HTTP/1.1\r\n' + H + '\r\n', 'accept'],
  ['ok_options_asterisk', 'OPTIONS * HTTP/1.1\r\n' + H + '\r\n', 'accept'],
  ['ok_absolute_form', 'GET http://example.com/a?b HTTP/1.1\r\n' + H + '\r\n', 'accept'],
  ['ok_absolute_form_upper_scheme', 'GET HTTPS://example.com HTTP/1.1\r\n' + H + '\r\n', 'accept'],
  ['ok_absolute_form_query_only', 'GET http://example.com?a=b HTTP/1.1\r\n' + H + '\r\n', 'accept'],
  ['ok_absolute_form_host_chars', 'GET http://a-b_c~d.example:1/ HTTP/1.1\r\nHost: a-b_c~d.example:1\r\n\r\n', 'accept'],
  ['ok_absolute_form_ipv6_port', 'GET http://[::1]:8080/ HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n', 'accept'],
  ['ok_obs_text_value', 'GET / HTTP/1.1\r\n' + H + 'X-Name: caf\xc3\xa9 \xff\r\n\r\n', 'accept'],
  ['ok_tab_ows', 'GET / HTTP/1.1\r\n' + H + 'X:\ta b\t\r\nConnection:\tkeep-alive\t\r\n\r\n', 'accept'],
  ['ok_empty_value', 'GET / HTTP/1.1\r\n' + H + 'X-Empty:\r\n\r\n', 'accept'],
  ['ok_expect_100_continue', POST + 'Content-Length: 2\r\nExpect: 100-continue\r\n\r\nhi', 'accept'],
  ['ok_get_with_body', 'GET / HTTP/1.1\r\n' + H + 'Content-Length: 3\r\n\r\nabc', 'accept'],
  ['ok_every_method', ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH'].map((m) => m + ' / HTTP/1.1\r\n' + H + '\r\n').join(''), 'accept'],
  ['ok_http10_without_host', 'GET / HTTP/1.0\r\n\r\n', 'accept'],
  ['ok_target_unencoded_punctuation', 'GET /a"b<c>d\\e^f`g{h|i}j HTTP/1.1\r\n' + H + '\r\n', 'accept'],
  ['ok_trailer_ordinary_fields', CHUNKED + '1\r\nx\r\n0\r\nX-Checksum: abc\r\nContent-Type: x\r\n\r\n', 'accept'],
  ['ok_duplicate_ordinary_fields', 'GET / HTTP/1.1\r\n' + H + 'Cookie: a=1\r\nCookie: b=2\r\n\r\n', 'accept'],

  //  --- CL.TE and TE.CL (Kettle 2019; PortSwigger labs) ------------------------
  ['clte_basic', POST + 'Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nSMUGGLED', 'reject'],
  ['clte_get_prefix', POST + 'Content-Length: 35\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nX: x', 'reject'],
  ['tecl_basic', POST + 'Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n', 'reject'],
  ['tecl_cl_zero', POST + 'Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['clte_http10', 'POST / HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['te_in_http10', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['clte_te_after_body_like_header', POST + 'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n', 'reject'],

  //  --- TE.TE: obfuscated Transfer-Encoding (PortSwigger list and variants) ----
  ['tete_xchunked', POST + 'Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_space_before_colon', POST + 'Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_tab_before_colon', POST + 'Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_second_bogus_te', POST + 'Transfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_duplicate_chunked', POST + 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_leading_space_line', POST + ' Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_bare_lf_before', POST + 'X: X\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_name_then_lf', POST + 'Transfer-Encoding\n: chunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_quoted', POST + 'Transfer-Encoding: "chunked"\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_chunk', POST + 'Transfer-Encoding: chunk\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_identity_chunked', POST + 'Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_chunked_identity', POST + 'Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_gzip_chunked', POST + 'Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_chunked_gzip', POST + 'Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_chunked_twice_one_line', POST + 'Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_comma_first', POST + 'Transfer-Encoding: , chunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_uppercase', POST + 'Transfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n', 'accept'],
  ['tete_trailing_space', POST + 'Transfer-Encoding: chunked \r\n\r\n0\r\n\r\n', 'accept'],
  ['tete_trailing_tab', POST + 'Transfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_leading_tab', POST + 'Transfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_trailing_tab_with_cl', POST + 'Content-Length: 5\r\nTransfer-Encoding: chunked\t\r\n\r\nhello', 'reject'],
  ['tete_vertical_tab', POST + 'Transfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_form_feed_prefix', POST + 'Transfer-Encoding: \x0cchunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_obs_fold_value', POST + 'Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_nul_after', POST + 'Transfer-Encoding: chunked\x00\r\n\r\n0\r\n\r\n', 'reject'],
  ['tete_empty_with_cl', POST + 'Transfer-Encoding: \r\nContent-Length: 0\r\n\r\n', 'reject'],
  ['tete_underscore_is_another_field', POST + 'Transfer_Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello', 'accept'],
  ['tete_chunked_param', POST + 'Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n', 'reject'],

  //  --- Content-Length ------------------------------------------------------------
  ['cl_duplicate_equal', POST + 'Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello', 'reject'],
  ['cl_duplicate_different', POST + 'Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!', 'reject'],
  ['cl_list_equal', POST + 'Content-Length: 5, 5\r\n\r\nhello', 'reject'],
  ['cl_list_different', POST + 'Content-Length: 5, 6\r\n\r\nhello!', 'reject'],
  ['cl_space_inside', POST + 'Content-Length: 5 5\r\n\r\nhello', 'reject'],
  ['cl_plus', POST + 'Content-Length: +5\r\n\r\nhello', 'reject'],
  ['cl_minus', POST + 'Content-Length: -1\r\n\r\n', 'reject'],
  ['cl_hex', POST + 'Content-Length: 0x5\r\n\r\nhello', 'reject'],
  ['cl_overflow', POST + 'Content-Length: 18446744073709551616\r\n\r\n', 'reject'],
  ['cl_max_u64_over_limit', POST + 'Content-Length: 18446744073709551615\r\n\r\n', 'reject'],
  ['cl_over_body_limit', POST + 'Content-Length: 1048577\r\n\r\n', 'reject'],
  ['cl_empty', POST + 'Content-Length: \r\n\r\n', 'reject'],
  ['cl_leading_zeros', POST + 'Content-Length: 005\r\n\r\nhello', 'accept'],
  ['cl_trailing_spaces', POST + 'Content-Length: 5  \r\n\r\nhello', 'accept'],
  ['cl_trailing_tab', POST + 'Content-Length: 5\t\r\n\r\nhello', 'reject'],
  ['cl_leading_tab', POST + 'Content-Length:\t5\r\n\r\nhello', 'reject'],
  ['cl_space_before_colon', POST + 'Content-Length : 5\r\n\r\nhello', 'reject'],
  ['cl_body_short', POST + 'Content-Length: 10\r\n\r\nhello', 'incomplete'],
  ['cl_body_then_garbage', POST + 'Content-Length: 2\r\n\r\nhiXYZ', 'incomplete'],
  ['cl_decimal_point', POST + 'Content-Length: 5.0\r\n\r\nhello', 'reject'],
  ['cl_in_http10_then_next', 'POST / HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhiGET / HTTP/1.0\r\n\r\n', 'accept'],

  //  --- bare LF, bare CR --------------------------------------------------------------
  ['lf_request_line', 'GET / HTTP/1.1\n' + H + '\r\n', 'reject'],
  ['lf_field_line', 'GET / HTTP/1.1\r\nHost: example.com\n\r\n', 'reject'],
  ['lf_final', 'GET / HTTP/1.1\r\n' + H + '\n', 'reject'],
  ['lf_everywhere', 'GET / HTTP/1.1\nHost: example.com\n\n', 'reject'],
  ['lf_leading', '\nGET / HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['cr_bare_request_line', 'GET / HTTP/1.1\r' + H + '\r\n', 'reject'],
  ['cr_bare_in_value', 'GET / HTTP/1.1\r\n' + H + 'X: a\rb\r\n\r\n', 'reject'],
  ['cr_bare_final', 'GET / HTTP/1.1\r\n' + H + '\rX', 'reject'],
  ['lf_chunk_size_line', CHUNKED + '5\nhello\r\n0\r\n\r\n', 'reject'],
  ['lf_after_chunk_data', CHUNKED + '5\r\nhello\n0\r\n\r\n', 'reject'],
  ['lf_last_chunk', CHUNKED + '0\n\n', 'reject'],
  ['cr_only_after_chunk_data', CHUNKED + '5\r\nhello\r0\r\n\r\n', 'reject'],
  ['lf_in_trailer', CHUNKED + '0\r\nX: y\n\r\n', 'reject'],
  ['two_leading_empty_lines', '\r\n\r\nGET / HTTP/1.1\r\n' + H + '\r\n', 'reject'],

  //  --- NUL ------------------------------------------------------------------------
  ['nul_in_value', 'GET / HTTP/1.1\r\n' + H + 'X: a\x00b\r\n\r\n', 'reject'],
  ['nul_in_name', 'GET / HTTP/1.1\r\n' + H + 'X\x00Y: v\r\n\r\n', 'reject'],
  ['nul_in_target', 'GET /a\x00b HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['nul_in_method', 'G\x00ET / HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['nul_in_version', 'GET / HTTP/1.1\x00\r\n' + H + '\r\n', 'reject'],
  ['nul_in_host', 'GET / HTTP/1.1\r\nHost: exa\x00mple.com\r\n\r\n', 'reject'],
  ['nul_in_chunk_ext', CHUNKED + '5;a\x00\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['nul_in_trailer', CHUNKED + '0\r\nX: \x00\r\n\r\n', 'reject'],
  ['nul_before_request', '\x00GET / HTTP/1.1\r\n' + H + '\r\n', 'reject'],

  //  --- field lines -------------------------------------------------------------------
  ['field_space_before_colon', 'GET / HTTP/1.1\r\nHost : example.com\r\n\r\n', 'reject'],
  ['field_tab_before_colon', 'GET / HTTP/1.1\r\n' + H + 'X\t: y\r\n\r\n', 'reject'],
  ['field_space_in_name', 'GET / HTTP/1.1\r\n' + H + 'Bad Name: y\r\n\r\n', 'reject'],
  ['field_empty_name', 'GET / HTTP/1.1\r\n' + H + ': y\r\n\r\n', 'reject'],
  ['field_no_colon', 'GET / HTTP/1.1\r\n' + H + 'NoColon\r\n\r\n', 'reject'],
  ['field_obs_fold', 'GET / HTTP/1.1\r\n' + H + 'X: a\r\n b\r\n\r\n', 'reject'],
  ['field_obs_fold_tab', 'GET / HTTP/1.1\r\n' + H + 'X: a\r\n\tb\r\n\r\n', 'reject'],
  ['field_space_first_line', 'GET / HTTP/1.1\r\n ' + H + '\r\n', 'reject'],
  ['field_del_in_value', 'GET / HTTP/1.1\r\n' + H + 'X: a\x7fb\r\n\r\n', 'reject'],
  ['field_esc_in_value', 'GET / HTTP/1.1\r\n' + H + 'X: a\x1bb\r\n\r\n', 'reject'],
  ['field_utf8_in_name', 'GET / HTTP/1.1\r\n' + H + 'X-\xc3\xa9: y\r\n\r\n', 'reject'],
  ['field_colon_in_value', 'GET / HTTP/1.1\r\n' + H + 'X: a:b::\r\n\r\n', 'accept'],
  ['field_brackets_in_name', 'GET / HTTP/1.1\r\n' + H + 'X[1]: y\r\n\r\n', 'reject'],
  ['field_hundred', 'GET / HTTP/1.1\r\n' + H + Array.from({ length: 99 }, (_, i) => `X-${i}: ${i}\r\n`).join('') + '\r\n', 'accept'],
  ['field_hundred_and_one', 'GET / HTTP/1.1\r\n' + H + Array.from({ length: 100 }, (_, i) => `X-${i}: ${i}\r\n`).join('') + '\r\n', 'reject'],
  ['field_section_over_16k', 'GET / HTTP/1.1\r\n' + H + 'X: ' + 'v'.repeat(16400) + '\r\n\r\n', 'reject'],
  ['request_line_over_8k', 'GET /' + 'a'.repeat(8200) + ' HTTP/1.1\r\n' + H + '\r\n', 'reject'],

  //  --- request-line --------------------------------------------------------------------
  ['rl_two_spaces_after_method', 'GET  / HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_two_spaces_before_version', 'GET /  HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_tab_separator', 'GET\t/ HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_leading_space', ' GET / HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_trailing_space', 'GET / HTTP/1.1 \r\n' + H + '\r\n', 'reject'],
  ['rl_http09', 'GET /\r\n', 'reject'],
  ['rl_version_1_2', 'GET / HTTP/1.2\r\n' + H + '\r\n', 'reject'],
  ['rl_version_2_0', 'GET / HTTP/2.0\r\n' + H + '\r\n', 'reject'],
  ['rl_version_0_9', 'GET / HTTP/0.9\r\n' + H + '\r\n', 'reject'],
  ['rl_version_lowercase', 'GET / http/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_version_two_digits', 'GET / HTTP/1.10\r\n' + H + '\r\n', 'reject'],
  ['rl_version_missing_minor', 'GET / HTTP/1\r\n' + H + '\r\n', 'reject'],
  ['rl_unknown_method', 'FOO / HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_webdav_method', 'PROPFIND / HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_lowercase_method', 'get / HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_connect', 'CONNECT example.com:443 HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_target_fragment', 'GET /a#b HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_target_utf8', 'GET /caf\xc3\xa9 HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_target_del', 'GET /a\x7f HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_asterisk_with_get', 'GET * HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_absolute_userinfo', 'GET http://user:pw@example.com/ HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_absolute_other_scheme', 'GET ftp://example.com/ HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_authority_form_with_get', 'GET example.com:80 HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_relative_target', 'GET a/b HTTP/1.1\r\n' + H + '\r\n', 'reject'],
  ['rl_method_separator', 'GE(T / HTTP/1.1\r\n' + H + '\r\n', 'reject'],

  //  --- Host ----------------------------------------------------------------------------
  ['host_missing', 'GET / HTTP/1.1\r\nX: y\r\n\r\n', 'reject'],
  ['host_duplicate_equal', 'GET / HTTP/1.1\r\n' + H + H + '\r\n', 'reject'],
  ['host_duplicate_different', 'GET / HTTP/1.1\r\n' + H + 'Host: evil.example\r\n\r\n', 'reject'],
  ['host_empty', 'GET / HTTP/1.1\r\nHost: \r\n\r\n', 'reject'],
  ['host_space_inside', 'GET / HTTP/1.1\r\nHost: exa mple.com\r\n\r\n', 'reject'],
  ['host_userinfo', 'GET / HTTP/1.1\r\nHost: user@example.com\r\n\r\n', 'reject'],
  ['host_path', 'GET / HTTP/1.1\r\nHost: example.com/admin\r\n\r\n', 'reject'],
  ['host_bad_port', 'GET / HTTP/1.1\r\nHost: example.com:80x\r\n\r\n', 'reject'],
  ['host_duplicate_http10', 'GET / HTTP/1.0\r\n' + H + H + '\r\n', 'reject'],

  //  --- chunked body ----------------------------------------------------------------------
  ['chunk_size_trailing_space', CHUNKED + '5 \r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_size_trailing_tab', CHUNKED + '5\t\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_size_leading_space', CHUNKED + ' 5\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_size_0x_prefix', CHUNKED + '0x5\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_size_negative', CHUNKED + '-5\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_size_empty', CHUNKED + '\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_size_not_hex', CHUNKED + 'g\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_size_overflow', CHUNKED + 'fffffffffffffffff\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_size_over_body_limit', CHUNKED + '100001\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_size_semicolon_only', CHUNKED + '5;\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_ext_space', CHUNKED + '5; a=b\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_ext_space_before_semicolon', CHUNKED + '5 ;a=b\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_ext_unterminated_quote', CHUNKED + '5;a="b\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_ext_bad_value', CHUNKED + '5;a=b"c\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_data_longer_than_size', CHUNKED + '3\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_data_shorter_than_size', CHUNKED + '8\r\nhello', 'incomplete'],
  ['chunk_data_short_then_framing', CHUNKED + '8\r\nhello\r\n0\r\n\r\n', 'reject'],
  ['chunk_missing_final_crlf', CHUNKED + '5\r\nhello\r\n0\r\n', 'incomplete'],
  ['chunk_missing_last_chunk', CHUNKED + '5\r\nhello\r\n', 'incomplete'],
  ['chunk_last_with_ext', CHUNKED + '0;a=b\r\n\r\n', 'accept'],
  ['chunk_smuggled_in_data', CHUNKED + smuggledChunk('GET /admin HTTP/1.1\r\n' + H + '\r\n') + '0\r\n\r\n', 'accept'],
  ['chunk_size_huge_leading_zeros', CHUNKED + '0'.repeat(60) + '5\r\nhello\r\n0\r\n\r\n', 'accept'],
  ['trailer_obs_fold', CHUNKED + '0\r\nX: a\r\n b\r\n\r\n', 'reject'],
  ['trailer_space_before_colon', CHUNKED + '0\r\nX : a\r\n\r\n', 'reject'],
  ['trailer_no_colon', CHUNKED + '0\r\nX\r\n\r\n', 'reject'],
  ['trailer_content_length', CHUNKED + '1\r\nx\r\n0\r\nContent-Length: 99\r\n\r\n', 'reject'],
  ['trailer_transfer_encoding', CHUNKED + '0\r\nTransfer-Encoding: chunked\r\n\r\n', 'reject'],
  ['trailer_host', CHUNKED + '0\r\nhost: evil.example\r\n\r\n', 'reject'],

  //  --- Expect ---------------------------------------------------------------------------
  ['expect_unknown', POST + 'Content-Length: 2\r\nExpect: 200-ok\r\n\r\nhi', 'reject'],
];

//  --- generated families ----------------------------------------------------------------

//  Every control byte, SP, DEL, the delimiters and a few others: all the class
//  boundaries of RFC 9110 tchar / field-vchar / RFC 3986.
const BYTES = [];
for (let b = 0; b <= 0x20; b++) BYTES.push(b);
for (const ch of '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~Aa0') BYTES.push(ch.charCodeAt(0));
BYTES.push(0x7f, 0x80, 0xc3, 0xfe, 0xff);

const hex = (b) => '0x' + b.toString(16).padStart(2, '0');
const chr = (b) => String.fromCharCode(b);
const isTchar = (b) => /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(chr(b));
const isFieldByte = (b) => (b >= 0x21 && b <= 0x7e) || b >= 0x80 || b === 0x20 || b === 0x09;
const isTargetByte = (b) => b >= 0x21 && b <= 0x7e && b !== 0x23;
const isQdtext = (b) => b === 0x09 || b === 0x20 || b === 0x21 || (b >= 0x23 && b <= 0x5b) || (b >= 0x5d && b <= 0x7e) || b >= 0x80;
const isHex = (b) => /[0-9A-Fa-f]/.test(chr(b));

const gen = [];
for (const b of BYTES) {
  const c = chr(b);
  gen.push([`value_byte_${hex(b)}`, 'GET / HTTP/1.1\r\n' + H + 'X: a' + c + 'b\r\n\r\n', isFieldByte(b) ? 'accept' : 'reject']);
  //  ":" ends the name early ("X:" "Y: v"), still a valid line.
  gen.push([`name_byte_${hex(b)}`, 'GET / HTTP/1.1\r\n' + H + 'X' + c + 'Y: v\r\n\r\n', isTchar(b) || c === ':' ? 'accept' : 'reject']);
  gen.push([`target_byte_${hex(b)}`, 'GET /a' + c + 'b HTTP/1.1\r\n' + H + '\r\n', isTargetByte(b) ? 'accept' : 'reject']);
  //  A hex digit makes the chunk bigger than its data: the body is not over.
  gen.push([`chunk_size_byte_${hex(b)}`, CHUNKED + '5' + c + '\r\nhello\r\n0\r\n\r\n', isHex(b) ? 'incomplete' : 'reject']);
  gen.push([`chunk_ext_name_byte_${hex(b)}`, CHUNKED + '5;a' + c + 'b\r\nhello\r\n0\r\n\r\n', isTchar(b) || c === '=' || c === ';' ? 'accept' : 'reject']);
  gen.push([`chunk_ext_quoted_byte_${hex(b)}`, CHUNKED + '5;a="' + c + '"\r\nhello\r\n0\r\n\r\n', isQdtext(b) ? 'accept' : 'reject']);
  gen.push([`trailer_value_byte_${hex(b)}`, CHUNKED + '0\r\nT: a' + c + 'b\r\n\r\n', isFieldByte(b) ? 'accept' : 'reject']);
}

for (const major of '0129') {
  for (const minor of '0129') {
    const ok = major === '1' && (minor === '0' || minor === '1');
    gen.push([`version_${major}_${minor}`, `GET / HTTP/${major}.${minor}\r\n` + H + '\r\n', ok ? 'accept' : 'reject']);
  }
}

const clValues = [['0', 'incomplete'], ['00', 'incomplete'], ['5', 'accept'], [' 5', 'accept'], ['5 ', 'accept'],
  ['5\t', 'reject'], ['05', 'accept'], ['5,5', 'reject'], ['5,', 'reject'], [',5', 'reject'], ['5;', 'reject'],
  ['5a', 'reject'], ['a5', 'reject'], ['5\x0b', 'reject'], ['5\x0c', 'reject'], ['"5"', 'reject'], ['5e0', 'reject'],
  ['\xb5', 'reject'], ['1048576', 'incomplete'], ['1048577', 'reject'], ['4294967301', 'reject'],
  ['99999999999999999999', 'reject']];
clValues.forEach(([v, tag], i) => gen.push([`cl_value_${String(i).padStart(2, '0')}`, POST + 'Content-Length: ' + v + '\r\n\r\nhello', tag]));

const teValues = [['chunked', 'accept'], ['Chunked', 'accept'], [' chunked ', 'accept'], ['chunked,', 'reject'],
  [',chunked', 'reject'], ['chunked;a=b', 'reject'], ['chunked ;a=b', 'reject'], ['gzip', 'reject'], ['deflate, chunked', 'reject'],
  ['x-gzip, chunked', 'reject'], ['chunked\tgzip', 'reject'], ['chu nked', 'reject'], ['chunkeD\xff', 'reject'], ['\xffchunked', 'reject'],
  ['chunked, chunked', 'reject'], ['identity', 'reject'], ['chunked\x00', 'reject'], ['ch\x0bunked', 'reject'], ['"chunked"', 'reject'],
  ['chunked;', 'reject'], ['compress', 'reject'], ['*', 'reject']];
teValues.forEach(([v, tag], i) => gen.push([`te_value_${String(i).padStart(2, '0')}`, POST + 'Transfer-Encoding: ' + v + '\r\n\r\n0\r\n\r\n', tag]));

//  One extra SP, CR or LF at every position of a small request (no
//  tag: which ones are valid is for the two parsers to agree on).
const small = 'GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx';
for (let i = 0; i <= small.length; i++) {
  for (const [label, ins] of [['sp', ' '], ['cr', '\r'], ['lf', '\n']]) {
    gen.push([`insert_${label}_at_${String(i).padStart(2, '0')}`, small.slice(0, i) + ins + small.slice(i), null]);
  }
}

function writeAll(dir, list) {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.http')) fs.unlinkSync(path.join(dir, f));
  const seen = new Set();
  for (const [name, raw, tag] of list) {
    if (seen.has(name)) throw new Error('duplicate case name ' + name);
    seen.add(name);
    fs.writeFileSync(path.join(dir, tag ? `${name}.${tag}.http` : `${name}.http`), Buffer.from(raw, 'latin1'));
  }
  return list.length;
}

const root = path.join(__dirname, 'cases');
const n = writeAll(root, hand);
const m = writeAll(path.join(root, 'gen'), gen);
console.log(`wrote ${n} hand-collected cases to ${root} and ${m} generated cases to ${path.join(root, 'gen')}`);
