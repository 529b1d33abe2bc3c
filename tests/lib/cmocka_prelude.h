/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * cmocka needs these before <cmocka.h>; every test includes this instead.
 */
#ifndef TALLY_TEST_CMOCKA_PRELUDE_H
#define TALLY_TEST_CMOCKA_PRELUDE_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#endif
