/* render.c - output of a protected cluster report as plain text, CSV, JSON or SVG into a
 * caller-provided FILE*. Only released figures are printed; a primary suppression shows as
 * "<k", a secondary or differencing one as "x", so a reader can tell "small" from "hidden to
 * protect another figure" without learning either value. */
#include "stats/stats.h"

#include <jansson.h>
#include <string.h>

static void col_name(const ob_stats_report *r, size_t c, char *buf, size_t len)
{
    size_t nb = (size_t)r->n_bands;
    if (c == 0)
        snprintf(buf, len, "sbp<%d", r->edge[0]);
    else if (c < nb - 1)
        snprintf(buf, len, "sbp%d-%d", r->edge[c - 1], r->edge[c] - 1);
    else if (c == nb - 1)
        snprintf(buf, len, "sbp>=%d", r->edge[nb - 2]);
    else if (c == nb)
        snprintf(buf, len, "no-sbp");
    else if (c == nb + 1)
        snprintf(buf, len, "checkup");
    else
        snprintf(buf, len, "no-checkup");
}

/* Labels are read as what they say (the linked auditor models them so): "<k" says 1..k-1
 * (0..k-1 when zeros are not released) and is shown only on a small cell; every other hidden
 * figure - a small total, a secondary, a row total hidden for its complement - shows "x",
 * which says nothing about the value (0 included). A small total labelled "<k" would hand a
 * member clinic the rest of its column within a few patients. */
static int small_label(const ob_stats_table *t, const ob_stats_sdc *s, size_t f)
{
    return f < t->rows * t->cols && t->state[f] == OB_STATS_PRIMARY && t->value[f] < s->k &&
           (t->value[f] > 0 || !s->zeros_released);
}

enum ob_stats_pub_kind ob_stats_pub_of(const ob_stats_table *t, const ob_stats_sdc *s, size_t f,
                                       int rounded)
{
    if (!ob_stats_suppressed(t, f))
        return rounded ? OB_STATS_PUB_ROUND : OB_STATS_PUB_EXACT;
    return small_label(t, s, f) ? OB_STATS_PUB_SMALL : OB_STATS_PUB_HIDDEN;
}

/* Listed counts are shown rounded to 5 (public upper bounds that must not link rows across
 * releases or to known list sizes; docs/statistics.md). */
#define LISTED_BASE 5

static void fig_text(const ob_stats_table *t, const ob_stats_sdc *s, size_t f, char *buf,
                     size_t len)
{
    if (t->state[f] == OB_STATS_RELEASED)
        snprintf(buf, len, "%lld", (long long)t->value[f]);
    else if (small_label(t, s, f))
        snprintf(buf, len, "<%d", s->k);
    else
        snprintf(buf, len, "x");
}

/* CSV field: quoted when it holds a separator, quote or line break (RFC 4180). */
static void csv_field(FILE *out, const char *v)
{
    if (!strpbrk(v, ",\"\r\n")) {
        fputs(v, out);
        return;
    }
    fputc('"', out);
    for (; *v; v++) {
        if (*v == '"')
            fputc('"', out);
        fputc(*v, out);
    }
    fputc('"', out);
}

static int render_text(FILE *out, int csv, const ob_stats_report *r, const ob_stats_sdc *s,
                       const char (*labels)[OB_STATS_LABEL_MAX], const size_t *order)
{
    const ob_stats_table *t = r->table;
    char buf[32];
    const char *sep = csv ? "," : " ";
    int w = csv ? 0 : 10;
    fprintf(out, "%-*s%s%*s%s%*s", csv ? 0 : 12, "clinic", sep, w, "listed", sep, w, "diagnosed");
    for (size_t c = 0; c < t->cols; c++) {
        col_name(r, c, buf, sizeof buf);
        fprintf(out, "%s%*s", sep, w, buf);
    }
    fputc('\n', out);
    for (size_t i = 0; i <= r->n_rows; i++) {
        int total = i == r->n_rows;
        size_t row = total ? 0 : order[i];
        const char *lab = total ? "total" : labels[row];
        if (csv)
            csv_field(out, lab);
        else
            fprintf(out, "%-12s", lab);
        fprintf(out, "%s%*lld", sep, w,
                (long long)ob_stats_round(total ? r->listed_all : r->listed[row], LISTED_BASE));
        fig_text(t, s, total ? ob_stats_fig_grand(t) : ob_stats_fig_row(t, row), buf, sizeof buf);
        fprintf(out, "%s%*s", sep, w, buf);
        for (size_t c = 0; c < t->cols; c++) {
            fig_text(t, s, total ? ob_stats_fig_col(t, c) : ob_stats_fig_cell(t, row, c), buf,
                     sizeof buf);
            fprintf(out, "%s%*s", sep, w, buf);
        }
        fputc('\n', out);
    }
    if (!csv)
        fprintf(out,
                "<%d: %d to %d patients; x: hidden (any number, 0 included); listed: rounded to "
                "%d\n",
                s->k, s->zeros_released ? 1 : 0, s->k - 1, LISTED_BASE);
    return ferror(out) ? -1 : 0;
}

static json_t *fig_json(const ob_stats_table *t, const ob_stats_sdc *s, size_t f)
{
    if (t->state[f] == OB_STATS_RELEASED)
        return json_integer(t->value[f]);
    return json_string(small_label(t, s, f) ? "suppressed-small" : "suppressed");
}

static int render_json(FILE *out, const ob_stats_report *r, const ob_stats_sdc *s,
                       const char (*labels)[OB_STATS_LABEL_MAX], const size_t *order)
{
    const ob_stats_table *t = r->table;
    char buf[32];
    json_t *root = json_object(), *cols = json_array(), *rows = json_array(), *tot = json_object();
    json_object_set_new(root, "k", json_integer(s->k));
    json_object_set_new(root, "zeros_released", json_boolean(s->zeros_released));
    json_object_set_new(root, "listed_rounding", json_integer(LISTED_BASE));
    json_object_set_new(root, "label_meaning",
                        json_pack("{s:[i,i], s:s}", "suppressed-small", s->zeros_released ? 1 : 0,
                                  s->k - 1, "suppressed", "any value"));
    for (size_t c = 0; c < t->cols; c++) {
        col_name(r, c, buf, sizeof buf);
        json_array_append_new(cols, json_string(buf));
    }
    json_object_set_new(root, "columns", cols);
    for (size_t i = 0; i < r->n_rows; i++) {
        size_t row = order[i];
        json_t *o = json_object(), *cells = json_array();
        json_object_set_new(o, "clinic", json_string(labels[row]));
        json_object_set_new(o, "listed", json_integer(ob_stats_round(r->listed[row], LISTED_BASE)));
        json_object_set_new(o, "diagnosed", fig_json(t, s, ob_stats_fig_row(t, row)));
        for (size_t c = 0; c < t->cols; c++)
            json_array_append_new(cells, fig_json(t, s, ob_stats_fig_cell(t, row, c)));
        json_object_set_new(o, "cells", cells);
        json_array_append_new(rows, o);
    }
    json_object_set_new(root, "rows", rows);
    json_t *tc = json_array();
    for (size_t c = 0; c < t->cols; c++)
        json_array_append_new(tc, fig_json(t, s, ob_stats_fig_col(t, c)));
    json_object_set_new(tot, "listed", json_integer(ob_stats_round(r->listed_all, LISTED_BASE)));
    json_object_set_new(tot, "diagnosed", fig_json(t, s, ob_stats_fig_grand(t)));
    json_object_set_new(tot, "cells", tc);
    json_object_set_new(root, "total", tot);
    int rc = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', out);
    json_decref(root);
    return rc;
}

/* Labels are pseudonyms, provider numbers or P-nn, but escape anyway: SVG is XML. */
static void xml_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", out);
        else if (*s == '>')
            fputs("&gt;", out);
        else if (*s == '&')
            fputs("&amp;", out);
        else if (*s == '"')
            fputs("&quot;", out);
        else
            fputc(*s, out);
    }
}

static int render_svg(FILE *out, const ob_stats_report *r, const ob_stats_sdc *s,
                      const char (*labels)[OB_STATS_LABEL_MAX], const size_t *order)
{
    static const char *colour[] = {"#2b8cbe", "#7bccc4", "#fdae61", "#f46d43", "#d73027",
                                   "#a50026", "#67001f", "#40004b", "#999999"};
    const ob_stats_table *t = r->table;
    size_t nb = (size_t)r->n_bands + 1; /* bands and "no measurement" */
    int64_t maxv = 1;
    for (size_t i = 0; i < r->n_rows; i++)
        for (size_t c = 0; c < nb; c++) {
            size_t f = ob_stats_fig_cell(t, i, c);
            if (!ob_stats_suppressed(t, f) && t->value[f] > maxv)
                maxv = t->value[f];
        }
    int bw = 12, gap = 24, h = 200, top = 30, left = 40;
    int gw = (int)nb * bw + gap;
    int width = left + (int)r->n_rows * gw + 20, height = top + h + 60;
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "font-family=\"sans-serif\" font-size=\"10\">\n"
            "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
            "patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" "
            "stroke=\"#555\" stroke-width=\"2\"/></pattern></defs>\n"
            "<text x=\"%d\" y=\"16\">Systolic blood pressure, latest in period, patients per "
            "clinic (hatched: suppressed)</text>\n",
            width, height, left);
    for (size_t i = 0; i < r->n_rows; i++) {
        size_t row = order[i];
        int x0 = left + (int)i * gw;
        for (size_t c = 0; c < nb; c++) {
            size_t f = ob_stats_fig_cell(t, row, c);
            int x = x0 + (int)c * bw;
            char name[32];
            col_name(r, c, name, sizeof name);
            if (ob_stats_suppressed(t, f)) {
                /* full height: the bar must not hint at the hidden value */
                fprintf(out,
                        "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"url(#hatch)\" "
                        "stroke=\"#555\"><title>",
                        x, top, bw - 2, h);
                xml_text(out, name);
                fprintf(out, ": %s</title></rect>\n",
                        small_label(t, s, f) ? "suppressed (small)" : "suppressed");
                char lab[16] = "x";
                if (small_label(t, s, f))
                    snprintf(lab, sizeof lab, "<%d", s->k);
                fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"8\">", x, top - 2);
                xml_text(out, lab);
                fputs("</text>\n", out);
            } else {
                int bh = (int)(t->value[f] * h / maxv);
                fprintf(out,
                        "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>", x,
                        top + h - bh, bw - 2, bh, colour[c < 9 ? c : 8]);
                xml_text(out, name);
                fprintf(out, ": %lld</title></rect>\n", (long long)t->value[f]);
            }
        }
        fprintf(out, "<text x=\"%d\" y=\"%d\">", x0, top + h + 14);
        xml_text(out, labels[row]);
        fputs("</text>\n", out);
    }
    fputs("</svg>\n", out);
    return ferror(out) ? -1 : 0;
}

ob_status ob_stats_render(FILE *out, enum ob_stats_format fmt, const ob_stats_report *r,
                          const ob_stats_sdc *s, const char (*labels)[OB_STATS_LABEL_MAX],
                          const size_t *order, ob_err *e)
{
    int rc;
    switch (fmt) {
    case OB_STATS_TEXT:
        rc = render_text(out, 0, r, s, labels, order);
        break;
    case OB_STATS_CSV:
        rc = render_text(out, 1, r, s, labels, order);
        break;
    case OB_STATS_JSON:
        rc = render_json(out, r, s, labels, order);
        break;
    case OB_STATS_SVG:
        rc = render_svg(out, r, s, labels, order);
        break;
    default:
        return ob_err_set(e, OB_EINVAL, "unknown output format %d", (int)fmt);
    }
    if (rc != 0)
        return ob_err_set(e, OB_EIO, "write failed rendering the report");
    return OB_OK;
}
