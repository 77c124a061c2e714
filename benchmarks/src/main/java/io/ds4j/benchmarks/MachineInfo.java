package io.ds4j.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What a reader needs to reproduce a run: cores, CPU model, memory, kernel, JDK. */
final class MachineInfo
{
    private MachineInfo()
    {
    }

    static List<String> describe()
    {
        final List<String> lines = new ArrayList<>();
        lines.add("cores (nproc): " + Runtime.getRuntime().availableProcessors());
        lines.add("cpu: " + cpuModel());
        lines.add("memory: " + memTotal());
        lines.add("kernel: " + System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
            + System.getProperty("os.arch"));
        lines.add("jdk: " + System.getProperty("java.vm.vendor") + " " + System.getProperty("java.vm.name") + " "
            + System.getProperty("java.runtime.version") + " (" + System.getProperty("java.home") + ")");
        lines.add("jvm flags: " + String.join(" ", java.lang.management.ManagementFactory.getRuntimeMXBean()
            .getInputArguments().stream().filter(flag -> !flag.startsWith("-Ddsbench.")).toList()));
        return lines;
    }

    static String cpuModel()
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/cpuinfo")))
            {
                if (line.startsWith("model name"))
                {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        }
        catch (final IOException ignored)
        {
            // not Linux
        }
        return "unknown";
    }

    private static String memTotal()
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/meminfo")))
            {
                if (line.startsWith("MemTotal:"))
                {
                    final long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return String.format("%.1f GiB", kib / 1024.0 / 1024.0);
                }
            }
        }
        catch (final IOException | NumberFormatException ignored)
        {
            // not Linux
        }
        return "unknown";
    }
}
