package io.ds4j.system;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keeps a README example and the test that runs it identical: the README's block between
 * {@code <!-- NAME:start -->} and {@code <!-- NAME:end -->} must be the test's code between {@code // NAME:start}
 * and {@code // NAME:end} (whitespace aside; the test's worker port shown as the default 31501; the test's block
 * ends inside the example's outer try, whose closing brace the README shows).
 */
final class ReadmeSnippets
{
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    private ReadmeSnippets()
    {
    }

    static void assertReadmeShows(final String name, final Class<?> test) throws IOException
    {
        final String readme = Files.readString(ROOT.resolve("README.md"));
        final String source = Files.readString(ROOT.resolve("system-tests/src/test/java/"
            + test.getName().replace('.', '/') + ".java"));
        final String shown = between(readme, "<!-- " + name + ":start -->\n```java\n", "```\n<!-- " + name + ":end -->");
        final String tested = between(source, "// " + name + ":start\n", "            // " + name + ":end");
        final String asShown = tested.replace("\"127.0.0.1\", port)", "\"127.0.0.1\", 31501)");
        assertEquals(normalize(asShown) + "\n}", normalize(shown), "README's " + name + " drifted from "
            + test.getSimpleName() + "; copy the tested code into README.md");
    }

    private static String between(final String text, final String start, final String end)
    {
        final int from = text.indexOf(start);
        final int to = text.indexOf(end, from + 1);
        assertTrue(from >= 0 && to > from, "markers " + start.strip() + " / " + end.strip() + " not found");
        return text.substring(from + start.length(), to);
    }

    private static String normalize(final String code)
    {
        return code.lines().map(String::strip).filter(line -> !line.isEmpty()).reduce("", (a, b) -> a + b + "\n")
            .strip();
    }
}
