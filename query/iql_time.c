// SPDX-License-Identifier: MIT
/*
 * Time strings as influxql reads them (StringLiteral.IsTimeLiteral and
 * ToTimeLiteral): a string starting with a yyyy-mm-dd date is a time; it
 * must then parse as "2006-01-02", "2006-01-02 15:04:05.999999999" (in the
 * statement's zone) or RFC3339 with up to nine fraction digits, with Go's
 * time.Parse leniencies (a one-digit hour, a comma before the fraction, an
 * offset of any two-digit hours) and range checks (day within the month,
 * hour < 24, minute and second < 60).
 */
#include "query/iql_int.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool num_fixed(const char **s, const char *end, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*s)++) {
        if (*s >= end || !is_digit(**s))
            return false;
        v = v * 10 + (**s - '0');
    }
    *out = v;
    return true;
}

/* Go's stdHour: one or two digits. */
static bool num_hour(const char **s, const char *end, int *out)
{
    if (*s >= end || !is_digit(**s))
        return false;
    int v = *(*s)++ - '0';
    if (*s < end && is_digit(**s))
        v = v * 10 + (*(*s)++ - '0');
    *out = v;
    return true;
}

static int days_in(int y, int m)
{
    static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

int64_t iql_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

bool iql_is_time_string(struct sv s)
{
    if (s.n < 10)
        return false;
    for (size_t i = 0; i < 10; i++) {
        if (i == 4 || i == 7 ? s.p[i] != '-' : !is_digit(s.p[i]))
            return false;
    }
    return true;
}

int iql_parse_time_string(struct sv str, struct iql_time *out)
{
    if (!iql_is_time_string(str))
        return 1;
    const char *s = str.p, *end = str.p + str.n;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0; /* set by num_fixed (the digits were checked above); gcc cannot see that */
    int64_t frac = 0;
    out->has_offset = false;
    out->offset_s = 0;
    num_fixed(&s, end, 4, &y);
    s++;
    num_fixed(&s, end, 2, &mo);
    s++;
    num_fixed(&s, end, 2, &d);
    if (s < end) {
        bool is_rfc = *s == 'T';
        if (*s != ' ' && *s != 'T')
            return -1;
        s++;
        if (!num_hour(&s, end, &h) || s >= end || *s++ != ':' || !num_fixed(&s, end, 2, &mi) ||
            s >= end || *s++ != ':' || !num_fixed(&s, end, 2, &se))
            return -1;
        if (end - s >= 2 && (*s == '.' || *s == ',') && is_digit(s[1])) {
            s++;
            int nd = 0;
            while (s < end && is_digit(*s) && nd < 9) {
                frac = frac * 10 + (*s++ - '0');
                nd++;
            }
            for (; nd < 9; nd++)
                frac *= 10;
        }
        if (is_rfc) {
            if (s < end && *s == 'Z') {
                s++;
                out->has_offset = true;
            } else if (end - s >= 6 && (*s == '+' || *s == '-') && s[3] == ':') {
                int sign = *s == '-' ? -1 : 1, oh, om;
                s++;
                if (!num_fixed(&s, end, 2, &oh) || *s++ != ':' || !num_fixed(&s, end, 2, &om))
                    return -1;
                out->has_offset = true;
                out->offset_s = sign * ((int64_t)oh * 3600 + om * 60);
            } else {
                return -1;
            }
        }
        if (s != end)
            return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) || h > 23 || mi > 59 || se > 59)
        return -1;
    out->local_s = iql_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
    out->frac_ns = (int32_t)frac;
    return 0;
}
