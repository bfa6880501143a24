/* text.h - rules for free text that overblik keeps (R-CPR-3, R-BLK-4).
 *
 * Some text outlives the request that brought it: an override's justification sits in the
 * immutable log and is shown to the patient; a consent's text and an appointment's address
 * are stored. Such text must be readable as it will be shown (valid UTF-8, no control
 * characters, no bidirectional or zero-width characters that could make it display as
 * something else), and must never carry a CPR number: the log cannot be edited, so one
 * typed there would stay for ever (R-CPR-3). Pure functions; messages never quote the
 * text. */
#ifndef OB_CORE_TEXT_H
#define OB_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* Whether s (NUL-ended) holds something that looks like a CPR number: ten digits, as
 * DDMMYYSSSS or with one separator (-, space, ., /) after the sixth, not inside a longer
 * digit run, whose first six digits are a calendar date. Stricter than ob_cpr_in_text
 * (which needs a valid century digit): kept text refuses anything a reader would take for
 * one. */
bool ob_text_cpr_like(const char *s);

/* Kept free text (a consent's text, an appointment's address): valid UTF-8 without
 * control characters (tab and newline allowed), bidi or zero-width characters, and with
 * no CPR-like number. OB_EINVAL naming `what` otherwise. */
ob_status ob_text_kept(const char *s, size_t n, const char *what, ob_err *e);

/* An override's justification (R-BLK-4): kept text (above, on one line: no newline or
 * tab) that says something: at least three words of two or more letters, not all the
 * same word, and at least 15 letters in all (Danish letters count as letters). OB_EINVAL
 * with a message that says what is missing. */
ob_status ob_text_justification(const char *s, size_t n, ob_err *e);

/* Whether `name` holds `text` (a name search, e.g. the directory's): compared without case
 * for ASCII letters and the Latin-1 letters in UTF-8 (Æ/æ, Ø/ø, Å/å, É/é, Ü/ü, ...),
 * every letter kept distinct from every other (in Danish "å" is a letter, not an "a" with
 * an accent). Other bytes compare as they are; no allocation. */
bool ob_text_name_has(const char *name, const char *text);

#endif
