package io.ds4j.worker.metrics;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The checker itself: it must accept the format's examples and reject what the format forbids. */
class ExpositionCheckerTest
{
    @Test
    void acceptsTheFormatsOwnExample()
    {
        final String text = """
            # HELP http_requests_total The total number of HTTP requests.
            # TYPE http_requests_total counter
            http_requests_total{method="post",code="200"} 1027 1395066363000
            http_requests_total{method="post",code="400"}    3 1395066363000

            # Escaping in label values:
            file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Not found:\\n\\"FILE.TXT\\""} 1.458255915e9

            # Minimalistic line:
            metric_without_timestamp_and_labels 12.47

            # A weird metric from before the epoch:
            something_weird{problem="division by zero"} +Inf -3982045

            # A histogram, which has a pretty complex representation in the text format:
            # HELP http_request_duration_seconds A histogram of the request duration.
            # TYPE http_request_duration_seconds histogram
            http_request_duration_seconds_bucket{le="0.05"} 24054
            http_request_duration_seconds_bucket{le="+Inf"} 144320
            http_request_duration_seconds_sum 53423
            http_request_duration_seconds_count 144320
            """;
        final Map<String, ExpositionChecker.Family> families = ExpositionChecker.parse(text);
        assertEquals("counter", families.get("http_requests_total").type());
        assertEquals(3, families.get("http_requests_total").value("http_requests_total", "method", "post",
            "code", "400"));
        assertEquals("C:\\DIR\\FILE.TXT", families.get("file_access_time_seconds").samples().getFirst()
            .labels().get("path"));
        assertEquals("Not found:\n\"FILE.TXT\"", families.get("file_access_time_seconds").samples().getFirst()
            .labels().get("error"));
        assertEquals(Double.POSITIVE_INFINITY, families.get("something_weird").samples().getFirst().value());
        assertEquals(4, families.get("http_request_duration_seconds").samples().size());
        assertEquals("untyped", families.get("metric_without_timestamp_and_labels").type());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "m 1",                                                   // no final newline
        "m{a=\"1\"} 1\nm{a=\"1\"} 2\n",                            // the same series twice
        "m 1\n# TYPE m counter\n",                               // TYPE after a sample
        "# TYPE m counter\n# TYPE m counter\nm 1\n",             // TYPE twice
        "# TYPE m countr\nm 1\n",                                // unknown type
        "# HELP m a\n# HELP m b\nm 1\n",                         // HELP twice
        "# HELP m bad \\t escape\nm 1\n",                        // HELP escape
        "m{a=\"1\"} 1\nn 1\nm{a=\"2\"} 1\n",                       // a family in two blocks
        "m{a=\"x\\ty\"} 1\n",                                     // label escape
        "m{a=\"x} 1\n",                                          // unterminated value
        "m{a=x} 1\n",                                            // unquoted value
        "m{1a=\"x\"} 1\n",                                        // label name
        "m{__name__=\"x\"} 1\n",                                  // reserved label name
        "m{a=\"1\",a=\"2\"} 1\n",                                  // label twice
        "1m 1\n",                                                // metric name
        "m one\n",                                               // value
        "m 1 2 3\n",                                             // too many fields
        "m 1 1.5\n",                                             // timestamp
        "m\n",                                                   // no value
        "# TYPE h histogram\nh 1\n"                              // histogram sample without suffix
    })
    void rejectsWhatTheFormatForbids(final String text)
    {
        assertThrows(IllegalArgumentException.class, () -> ExpositionChecker.parse(text));
    }
}
