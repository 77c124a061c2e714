package io.ds4j.worker.metrics;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict line-by-line parser of the Prometheus text exposition format 0.0.4, written from the format's
 * specification (not from the client library that produces what it checks): {@link #parse} throws
 * {@link IllegalArgumentException} naming the line for anything the format does not allow, and returns the
 * families it read so tests can assert on samples rather than on substrings.
 *
 * <p>Checked: the text ends with a newline; {@code # HELP name text} and {@code # TYPE name type} lines (valid
 * name, escapes, a known type, at most one of each per family, TYPE before the family's first sample); sample
 * lines {@code name{label="value",...} value [timestamp]} (name and label-name grammar, label-value escapes
 * {@code \\ \" \n} only, no label twice, a float value or NaN/+Inf/-Inf, an integer timestamp); a family's samples
 * in one block (not interleaved with another family's); no series twice; sample names that fit the family's type
 * ({@code _bucket/_sum/_count} for histograms and so on).
 */
final class ExpositionChecker
{
    private static final String NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
    private static final Pattern METRIC_NAME = Pattern.compile(NAME);
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Pattern HELP = Pattern.compile("# HELP (" + NAME + ")(?: (.*))?");
    private static final Pattern TYPE = Pattern.compile("# TYPE (" + NAME + ") (\\S+)");
    private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");
    private static final Pattern VALUE = Pattern.compile(
        "[+-]?(?:\\d+\\.?\\d*(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?|Inf|inf)|NaN");
    private static final Pattern TIMESTAMP = Pattern.compile("-?\\d+");

    /** One sample line. */
    record Sample(String name, Map<String, String> labels, double value)
    {
    }

    /** One metric family: its TYPE (untyped when none), HELP (null when none) and samples in order. */
    record Family(String name, String type, String help, List<Sample> samples)
    {
        /** The value of the sample {@code name} with exactly these labels (given as name, value pairs). */
        double value(final String sampleName, final String... labelPairs)
        {
            final Map<String, String> wanted = new LinkedHashMap<>();
            for (int i = 0; i < labelPairs.length; i += 2)
            {
                wanted.put(labelPairs[i], labelPairs[i + 1]);
            }
            return samples.stream().filter(s -> s.name().equals(sampleName) && s.labels().equals(wanted))
                .findFirst().orElseThrow(() -> new AssertionError("no sample " + sampleName + wanted + " in "
                    + samples)).value();
        }
    }

    private ExpositionChecker()
    {
    }

    /** Parses and checks {@code text}; the families by name, in order of appearance. */
    static Map<String, Family> parse(final String text)
    {
        if (!text.isEmpty() && !text.endsWith("\n"))
        {
            throw new IllegalArgumentException("the exposition must end with a newline");
        }
        final Map<String, Family> families = new LinkedHashMap<>();
        final Set<String> closed = new HashSet<>();
        final Set<String> series = new HashSet<>();
        String current = null;
        final String[] lines = text.split("\n", -1);
        for (int n = 0; n < lines.length - 1; n++)
        {
            final String line = lines[n];
            final String where = "line " + (n + 1) + " '" + line + "': ";
            if (line.isBlank())
            {
                continue;
            }
            if (line.startsWith("#"))
            {
                final Matcher help = HELP.matcher(line);
                final Matcher type = TYPE.matcher(line);
                if (line.startsWith("# HELP "))
                {
                    require(help.matches(), where + "malformed HELP");
                    final String name = help.group(1);
                    final Family family = family(families, closed, name, where);
                    require(family.help() == null, where + "a second HELP for " + name);
                    checkHelpEscapes(help.group(2) == null ? "" : help.group(2), where);
                    families.put(name, new Family(name, family.type(), help.group(2) == null ? "" : help.group(2),
                        family.samples()));
                    current = switchTo(current, name, closed);
                }
                else if (line.startsWith("# TYPE "))
                {
                    require(type.matches(), where + "malformed TYPE");
                    final String name = type.group(1);
                    require(TYPES.contains(type.group(2)), where + "unknown type " + type.group(2));
                    final Family family = family(families, closed, name, where);
                    require(family.type() == null, where + "a second TYPE for " + name);
                    require(family.samples().isEmpty(), where + "TYPE after a sample of " + name);
                    families.put(name, new Family(name, type.group(2), family.help(), family.samples()));
                    current = switchTo(current, name, closed);
                }
                continue;
            }
            final Sample sample = sample(line, where);
            final String familyName = familyOf(sample.name(), families);
            final Family family = family(families, closed, familyName, where);
            if (family.type() == null)
            {
                families.put(familyName, new Family(familyName, null, family.help(), family.samples()));
            }
            require(fitsType(familyName, family.type() == null ? "untyped" : family.type(), sample.name()),
                where + "sample name " + sample.name() + " does not fit the " + family.type() + " " + familyName);
            require(series.add(sample.name() + new TreeMap<>(sample.labels())),
                where + "a second sample of the same series");
            family.samples().add(sample);
            current = switchTo(current, familyName, closed);
        }
        final Map<String, Family> result = new LinkedHashMap<>();
        families.forEach((name, family) -> result.put(name, new Family(name,
            family.type() == null ? "untyped" : family.type(), family.help(), List.copyOf(family.samples()))));
        return result;
    }

    private static Family family(final Map<String, Family> families, final Set<String> closed, final String name,
        final String where)
    {
        require(!closed.contains(name), where + "the lines of " + name + " are not in one block");
        return families.computeIfAbsent(name, key -> new Family(key, null, null, new ArrayList<>()));
    }

    private static String switchTo(final String current, final String next, final Set<String> closed)
    {
        if (current != null && !current.equals(next))
        {
            closed.add(current);
        }
        return next;
    }

    /** The family a sample belongs to: a declared histogram or summary for its suffixed names, else its own. */
    private static String familyOf(final String sampleName, final Map<String, Family> families)
    {
        for (final String suffix : List.of("_bucket", "_sum", "_count"))
        {
            if (sampleName.endsWith(suffix))
            {
                final String base = sampleName.substring(0, sampleName.length() - suffix.length());
                final Family family = families.get(base);
                if (family != null && ("histogram".equals(family.type()) || "summary".equals(family.type())))
                {
                    return base;
                }
            }
        }
        return sampleName;
    }

    private static boolean fitsType(final String family, final String type, final String sampleName)
    {
        return switch (type)
        {
            case "histogram" -> sampleName.equals(family + "_bucket") || sampleName.equals(family + "_sum")
                || sampleName.equals(family + "_count");
            case "summary" -> sampleName.equals(family) || sampleName.equals(family + "_sum")
                || sampleName.equals(family + "_count");
            default -> sampleName.equals(family);
        };
    }

    private static Sample sample(final String line, final String where)
    {
        int i = 0;
        while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ')
        {
            i++;
        }
        final String name = line.substring(0, i);
        require(METRIC_NAME.matcher(name).matches(), where + "invalid metric name '" + name + "'");
        final Map<String, String> labels = new LinkedHashMap<>();
        if (i < line.length() && line.charAt(i) == '{')
        {
            i++;
            while (true)
            {
                require(i < line.length(), where + "unterminated label set");
                if (line.charAt(i) == '}')
                {
                    i++;
                    break;
                }
                final int eq = line.indexOf('=', i);
                require(eq > 0, where + "label without '='");
                final String label = line.substring(i, eq);
                require(LABEL_NAME.matcher(label).matches() && !label.startsWith("__"),
                    where + "invalid label name '" + label + "'");
                require(eq + 1 < line.length() && line.charAt(eq + 1) == '"', where + "label value not quoted");
                final StringBuilder value = new StringBuilder();
                int j = eq + 2;
                while (true)
                {
                    require(j < line.length(), where + "unterminated label value");
                    final char c = line.charAt(j);
                    if (c == '"')
                    {
                        break;
                    }
                    if (c == '\\')
                    {
                        require(j + 1 < line.length(), where + "dangling escape");
                        final char e = line.charAt(j + 1);
                        require(e == '\\' || e == '"' || e == 'n', where + "invalid escape \\" + e);
                        value.append(e == 'n' ? '\n' : e);
                        j += 2;
                    }
                    else
                    {
                        value.append(c);
                        j++;
                    }
                }
                require(labels.put(label, value.toString()) == null, where + "label " + label + " twice");
                i = j + 1;
                if (i < line.length() && line.charAt(i) == ',')
                {
                    i++;
                }
                else
                {
                    require(i < line.length() && line.charAt(i) == '}', where + "expected ',' or '}' after a label");
                }
            }
        }
        require(i < line.length() && (line.charAt(i) == ' ' || line.charAt(i) == '\t'),
            where + "expected blanks before the value");
        final String[] rest = line.substring(i).strip().split("[ \t]+", -1);
        require(rest.length == 1 || rest.length == 2, where + "expected a value and an optional timestamp");
        require(VALUE.matcher(rest[0]).matches(), where + "invalid value '" + rest[0] + "'");
        if (rest.length == 2)
        {
            require(TIMESTAMP.matcher(rest[1]).matches(), where + "invalid timestamp '" + rest[1] + "'");
        }
        final String v = rest[0];
        final double value = v.endsWith("Inf") || v.endsWith("inf")
            ? (v.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY) : Double.parseDouble(v);
        return new Sample(name, Map.copyOf(labels), value);
    }

    private static void checkHelpEscapes(final String help, final String where)
    {
        for (int i = 0; i < help.length(); i++)
        {
            if (help.charAt(i) == '\\')
            {
                require(i + 1 < help.length() && (help.charAt(i + 1) == '\\' || help.charAt(i + 1) == 'n'),
                    where + "invalid escape in HELP");
                i++;
            }
        }
    }

    private static void require(final boolean ok, final String message)
    {
        if (!ok)
        {
            throw new IllegalArgumentException(message);
        }
    }
}
