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

static void fig_text(const ob_stats_table *t, const ob_stats_sdc *s, size_t f, char *buf,
                     size_t len)
{
    if (t->state[f] == OB_STATS_RELEASED)
        snprintf(buf, len, "%lld", (long long)t->value[f]);
    else if (t->state[f] == OB_STATS_PRIMARY)
        snprintf(buf, len, "<%d", s->k);
    else
        snprintf(buf, len, "x");
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
        fprintf(out, "%-*s%s%*lld", csv ? 0 : 12, total ? "total" : labels[row], sep, w,
                (long long)(total ? r->listed_all : r->listed[row]));
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
        fprintf(out, "<%d: fewer than %d patients; x: hidden to protect another figure\n", s->k,
                s->k);
    return ferror(out) ? -1 : 0;
}

static json_t *fig_json(const ob_stats_table *t, size_t f)
{
    if (t->state[f] == OB_STATS_RELEASED)
        return json_integer(t->value[f]);
    return json_string(t->state[f] == OB_STATS_PRIMARY ? "suppressed-small" : "suppressed");
}

static int render_json(FILE *out, const ob_stats_report *r, const ob_stats_sdc *s,
                       const char (*labels)[OB_STATS_LABEL_MAX], const size_t *order)
{
    const ob_stats_table *t = r->table;
    char buf[32];
    json_t *root = json_object(), *cols = json_array(), *rows = json_array(), *tot = json_object();
    json_object_set_new(root, "k", json_integer(s->k));
    for (size_t c = 0; c < t->cols; c++) {
        col_name(r, c, buf, sizeof buf);
        json_array_append_new(cols, json_string(buf));
    }
    json_object_set_new(root, "columns", cols);
    for (size_t i = 0; i < r->n_rows; i++) {
        size_t row = order[i];
        json_t *o = json_object(), *cells = json_array();
        json_object_set_new(o, "clinic", json_string(labels[row]));
        json_object_set_new(o, "listed", json_integer(r->listed[row]));
        json_object_set_new(o, "diagnosed", fig_json(t, ob_stats_fig_row(t, row)));
        for (size_t c = 0; c < t->cols; c++)
            json_array_append_new(cells, fig_json(t, ob_stats_fig_cell(t, row, c)));
        json_object_set_new(o, "cells", cells);
        json_array_append_new(rows, o);
    }
    json_object_set_new(root, "rows", rows);
    json_t *tc = json_array();
    for (size_t c = 0; c < t->cols; c++)
        json_array_append_new(tc, fig_json(t, ob_stats_fig_col(t, c)));
    json_object_set_new(tot, "listed", json_integer(r->listed_all));
    json_object_set_new(tot, "diagnosed", fig_json(t, ob_stats_fig_grand(t)));
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
                        "stroke=\"#555\"><title>%s: %s</title></rect>\n",
                        x, top, bw - 2, h, name,
                        t->state[f] == OB_STATS_PRIMARY ? "suppressed (small)" : "suppressed");
                if (t->state[f] == OB_STATS_PRIMARY)
                    fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"8\">&lt;%d</text>\n", x,
                            top - 2, s->k);
                else
                    fprintf(out, "<text x=\"%d\" y=\"%d\" font-size=\"8\">x</text>\n", x, top - 2);
            } else {
                int bh = (int)(t->value[f] * h / maxv);
                fprintf(out,
                        "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
                        "<title>%s: %lld</title></rect>\n",
                        x, top + h - bh, bw - 2, bh, colour[c < 9 ? c : 8], name,
                        (long long)t->value[f]);
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
