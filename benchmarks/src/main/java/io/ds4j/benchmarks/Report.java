package io.ds4j.benchmarks;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The results table: each row is a ds4j figure next to the ceiling or reference it is compared with, measured in the
 * same run, the ratio of the two, the target and whether it was met.
 */
final class Report
{
    /** One row; {@code ratio} is NaN where there is nothing to divide. */
    record Row(String id, String what, String value, String reference, double ratio, String target, String verdict)
    {
    }

    private final List<Row> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    void add(final String id, final String what, final String value, final String reference, final double ratio,
        final String target, final String verdict)
    {
        rows.add(new Row(id, what, value, reference, ratio, target, verdict));
    }

    void note(final String text)
    {
        notes.add(text);
    }

    List<Row> rows()
    {
        return rows;
    }

    static String ratio(final double ratio)
    {
        return Double.isNaN(ratio) ? "-" : String.format(Locale.ROOT, "%.2f", ratio);
    }

    /** Verdict for "ratio at least {@code min}". */
    static String atLeast(final double ratio, final double min)
    {
        if (Double.isNaN(ratio))
        {
            return "n/a";
        }
        if (ratio >= min)
        {
            return "met";
        }
        final double missedBy = (min - ratio) / min * 100;
        if (missedBy < 0.05)
        {
            return "MISSED by < 0.1%";
        }
        return String.format(Locale.ROOT, missedBy < 1 ? "MISSED by %.1f%%" : "MISSED by %.0f%%", missedBy);
    }

    /** Verdict for "value below {@code max}" (latencies). */
    static String below(final double value, final double max)
    {
        if (Double.isNaN(value))
        {
            return "n/a";
        }
        if (value < max)
        {
            return "met";
        }
        return String.format(Locale.ROOT, "MISSED by %.0f%%", (value - max) / max * 100);
    }

    void printText(final PrintStream out)
    {
        final String[] header = {"#", "measurement", "ds4j", "ceiling / reference (same run)", "ratio", "target",
            "verdict"};
        final int[] width = new int[header.length];
        for (int i = 0; i < header.length; i++)
        {
            width[i] = header[i].length();
        }
        for (final Row row : rows)
        {
            final String[] cells = cells(row);
            for (int i = 0; i < cells.length; i++)
            {
                width[i] = Math.max(width[i], cells[i].length());
            }
        }
        printLine(out, header, width);
        final String[] rule = new String[header.length];
        for (int i = 0; i < rule.length; i++)
        {
            rule[i] = "-".repeat(width[i]);
        }
        printLine(out, rule, width);
        for (final Row row : rows)
        {
            printLine(out, cells(row), width);
        }
        for (final String note : notes)
        {
            out.println("note: " + note);
        }
    }

    String markdown()
    {
        final StringBuilder text = new StringBuilder();
        text.append("| # | measurement | ds4j | ceiling / reference (same run) | ratio | target | verdict |\n");
        text.append("|---|---|---|---|---|---|---|\n");
        for (final Row row : rows)
        {
            text.append('|');
            for (final String cell : cells(row))
            {
                text.append(' ').append(cell.replace("|", "\\|")).append(" |");
            }
            text.append('\n');
        }
        for (final String note : notes)
        {
            text.append("\nNote: ").append(note).append('\n');
        }
        return text.toString();
    }

    private static String[] cells(final Row row)
    {
        return new String[] {row.id(), row.what(), row.value(), row.reference(), ratio(row.ratio()), row.target(),
            row.verdict()};
    }

    private static void printLine(final PrintStream out, final String[] cells, final int[] width)
    {
        final StringBuilder line = new StringBuilder();
        for (int i = 0; i < cells.length; i++)
        {
            if (i > 0)
            {
                line.append("  ");
            }
            final boolean numeric = i == 4;
            final String cell = cells[i];
            if (numeric)
            {
                line.append(" ".repeat(width[i] - cell.length())).append(cell);
            }
            else
            {
                line.append(cell).append(" ".repeat(width[i] - cell.length()));
            }
        }
        out.println(line.toString().stripTrailing());
    }
}
