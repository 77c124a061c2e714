package io.ds4j.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CPU time spent by named groups of processes during the measured slices of one {@link Load.Group}: utime + stime of
 * every thread of each process ({@code /proc/PID/stat}), and the machine's busy time ({@code /proc/stat}), so a figure
 * can say how many CPU microseconds one operation cost, who spent them, and how much of the machine other processes
 * (other sessions' builds) took meanwhile. Resolution: the kernel's clock tick (10 ms at 100 Hz), summed over slices.
 */
final class CpuMeter implements Load.SliceMeter
{
    /** USER_HZ: /proc reports CPU times in these ticks; 100 on every Linux build that matters here. */
    private static final double TICKS_PER_SECOND = 100.0;

    private final Map<String, List<Long>> roles;
    private final Map<String, Long> spent = new LinkedHashMap<>();
    private final Map<String, Long> started = new LinkedHashMap<>();
    private long machineBusy;
    private long machineTotal;
    private long machineBusyStart;
    private long machineTotalStart;
    private long wallNanos;
    private long wallStart;

    /** @param roles a name (say "workers") to the pids whose time counts under it */
    CpuMeter(final Map<String, List<Long>> roles)
    {
        this.roles = roles;
        roles.keySet().forEach(role -> spent.put(role, 0L));
    }

    @Override
    public void begin()
    {
        for (final Map.Entry<String, List<Long>> role : roles.entrySet())
        {
            started.put(role.getKey(), ticks(role.getValue()));
        }
        final long[] machine = machine();
        machineBusyStart = machine[0];
        machineTotalStart = machine[1];
        wallStart = System.nanoTime();
    }

    @Override
    public void end()
    {
        wallNanos += System.nanoTime() - wallStart;
        for (final Map.Entry<String, List<Long>> role : roles.entrySet())
        {
            spent.merge(role.getKey(), ticks(role.getValue()) - started.get(role.getKey()), Long::sum);
        }
        final long[] machine = machine();
        machineBusy += machine[0] - machineBusyStart;
        machineTotal += machine[1] - machineTotalStart;
    }

    /** CPU seconds the role's processes spent in the measured slices. */
    double seconds(final String role)
    {
        return spent.get(role) / TICKS_PER_SECOND;
    }

    double totalSeconds()
    {
        return spent.values().stream().mapToLong(Long::longValue).sum() / TICKS_PER_SECOND;
    }

    /** CPU seconds the whole machine was busy in the measured slices (all processes, ours included). */
    double machineBusySeconds()
    {
        return machineBusy / TICKS_PER_SECOND;
    }

    /** The machine's CPU seconds available in the measured slices (cores × wall time). */
    double machineSeconds()
    {
        return machineTotal / TICKS_PER_SECOND;
    }

    double wallSeconds()
    {
        return wallNanos / 1e9;
    }

    List<String> roleNames()
    {
        return new ArrayList<>(roles.keySet());
    }

    private static long ticks(final List<Long> pids)
    {
        long sum = 0;
        for (final long pid : pids)
        {
            sum += ticks(pid);
        }
        return sum;
    }

    /** utime + stime of the process (all its threads), in ticks; 0 when it is gone. */
    static long ticks(final long pid)
    {
        try
        {
            final String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // the command name, in parentheses, may hold spaces: fields are counted after its closing parenthesis
            final String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        }
        catch (final IOException | RuntimeException e)
        {
            return 0;
        }
    }

    /** {busy, total} ticks of all CPUs since boot, from the first line of /proc/stat. */
    private static long[] machine()
    {
        try
        {
            final String line = Files.readAllLines(Path.of("/proc/stat")).getFirst();
            final String[] fields = line.trim().split("\\s+");
            long total = 0;
            // cpu user nice system idle iowait irq softirq steal (guest time is already in user)
            for (int i = 1; i <= Math.min(8, fields.length - 1); i++)
            {
                total += Long.parseLong(fields[i]);
            }
            final long idle = Long.parseLong(fields[4]) + Long.parseLong(fields[5]);
            return new long[] {total - idle, total};
        }
        catch (final IOException | RuntimeException e)
        {
            return new long[] {0, 0};
        }
    }
}
