/* test_text.c - kept free text and override justifications (R-BLK-4, R-CPR-3; issue 19,
 * "break-the-glass can be used with no real reason, and its text can hide from the
 * patient"; docs/security.md T-TXT-1..3). One row per input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/text.h"

static const struct {
    const char *why, *s;
    size_t n; /* 0: strlen(s) */
    bool justification_ok, kept_ok;
} rows[] = {
    {"R-BLK-4: a real reason", "Bevidstløs ved indlæggelse, pårørende kan ikke nås", 0, 1, 1},
    {"R-BLK-4: Danish letters count as letters", "Åndenød øget, ærlig talt akut", 0, 1, 1},
    {"R-BLK-4: a single space is no reason (issue 19)", " ", 0, 0, 1},
    {"R-BLK-4: one letter is no reason (issue 19)", "x", 0, 0, 1},
    {"R-BLK-4: two words are not a sentence", "akut indlæggelse", 0, 0, 1},
    {"R-BLK-4: the same word three times is not a sentence", "akut akut akut akut akut", 0, 0, 1},
    {"R-BLK-4: three words, too few letters", "ok ja nu", 0, 0, 1},
    {"R-BLK-4: empty", "", 0, 0, 1},
    {"R-BLK-4: invalid UTF-8, a lone surrogate (issue 19: %ED%A0%80)",
     "Patient bevidstl\xed\xa0\x80s ved ankomst", 0, 0, 0},
    {"R-BLK-4: invalid UTF-8, an overlong slash", "Patient bevidstløs \xc0\xaf ved ankomst", 0, 0,
     0},
    {"R-BLK-4: invalid UTF-8, a cut sequence", "Patient bevidstløs ved ankomst \xc3", 0, 0, 0},
    {"R-BLK-4: a right-to-left override hides text from the patient",
     "Patient bevidstløs \xe2\x80\xae ved ankomst", 0, 0, 0},
    {"R-BLK-4: a bidi isolate", "Patient bevidstløs \xe2\x81\xa6ved ankomst\xe2\x81\xa9", 0, 0, 0},
    {"R-BLK-4: a zero-width space", "Patient bevidst\xe2\x80\x8bløs ved ankomst", 0, 0, 0},
    {"R-BLK-4: a byte-order mark inside", "Patient bevidstløs\xef\xbb\xbf ved ankomst", 0, 0, 0},
    {"R-BLK-4: a soft hyphen", "Patient bevidst\xc2\xadløs ved ankomst", 0, 0, 0},
    {"R-BLK-4: a C1 control", "Patient bevidstløs \xc2\x85 ved ankomst", 0, 0, 0},
    {"R-BLK-4: a newline in a one-line reason", "Patient bevidstløs\nved ankomst", 0, 0, 1},
    {"R-BLK-4: an escape character", "Patient bevidstløs \x1b[2J ved ankomst", 0, 0, 0},
    {"R-BLK-4: a NUL inside", "Patient bevidstløs\0 ved ankomst", 30, 0, 0},
    {"R-CPR-3: another person's CPR number, with hyphen (issue 19)",
     "Oplysninger om 010203-1234 er nødvendige", 0, 0, 0},
    {"R-CPR-3: ... without hyphen", "Oplysninger om 0102031234 er nødvendige", 0, 0, 0},
    {"R-CPR-3: ... with a space", "Oplysninger om 010203 1234 er nødvendige", 0, 0, 0},
    {"R-CPR-3: ... with a dot", "Oplysninger om 010203.1234 er nødvendige", 0, 0, 0},
    {"R-CPR-3: ... a 7th digit no century fits still looks like one",
     "Oplysninger om 3112995999 er nødvendige", 0, 0, 0},
    {"R-CPR-3: ... at the very start", "0102031234 er patientens bror, bevidstløs", 0, 0, 0},
    {"R-CPR-3: ten digits that are no date are not a CPR number",
     "Telefon 4099123456 til pårørende blev forsøgt", 0, 1, 1},
    {"R-CPR-3: a longer digit run is no CPR number", "Journalnummer 010203123456 blev læst", 0, 1,
     1},
    {"R-CPR-3: a date and a time are no CPR number", "Indlagt 01.02.2026 kl. 1234 bevidstløs", 0, 1,
     1},
    {"kept text: an address with a postcode", "Nørrebrogade 44, 8000 Aarhus C", 0, 0, 1},
    {"kept text: tabs and newlines are fine in a consent text", "Linje et\n\tLinje to", 0, 0, 1},
};

static void test_rows(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t n = rows[i].n ? rows[i].n : strlen(rows[i].s);
        ob_err e = {0};
        bool j = ob_text_justification(rows[i].s, n, &e) == OB_OK;
        bool k = ob_text_kept(rows[i].s, n, "the text", &e) == OB_OK;
        if (j != rows[i].justification_ok || k != rows[i].kept_ok) {
            print_error("row %zu (%s): justification %s (want %s), kept %s (want %s)\n", i,
                        rows[i].why, j ? "ok" : "refused",
                        rows[i].justification_ok ? "ok" : "refused", k ? "ok" : "refused",
                        rows[i].kept_ok ? "ok" : "refused");
            failed++;
        }
        /* a refusal never quotes the text */
        if (!k && (strstr(e.msg, "010203") || strstr(e.msg, "0102031234")))
            failed++;
    }
    assert_int_equal(failed, 0);
}

/* Name search (the directory's name=, issue 26 pages): case folds for Danish names too. */
static void test_name_has(void **state)
{
    (void)state;
    static const struct {
        const char *why, *name, *text;
        bool want;
    } names[] = {
        {"ASCII, any case", "Kardiologisk afdeling", "KARDIO", true},
        {"æ and Æ are one letter in two cases", "Ærøskøbing Lægehus", "ærø", true},
        {"ø and Ø", "Sønderborg", "SØNDER", true},
        {"å and Å", "Åbenrå Sygehus", "åbenrå", true},
        {"å is not a", "Åbenrå", "abenra", false},
        {"ø is not o", "Sønderborg", "sonder", false},
        {"other Latin-1 letters fold too", "Médecins Ünited", "médecins ü", true},
        {"inside the name", "Lægehuset Ærø", "ÆRØ", true},
        {"absent", "Roskilde", "ærø", false},
        {"the multiplication sign is not a letter", "a\u00d7b", "a\u00f7b", false},
        {"a broken sequence compares as bytes", "ab\xc3", "\xc3", true},
        {"longer than the name", "Ærø", "Ærøskøbing", false},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (ob_text_name_has(names[i].name, names[i].text) != names[i].want)
            fail_msg("%s: %s in %s", names[i].why, names[i].text, names[i].name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rows),
                                       cmocka_unit_test(test_name_has)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
