package io.ds4j.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Memory figures of a process from /proc/PID/status, in bytes: VmRSS is RssAnon (heap, metadata, stacks) plus
 * RssFile (code, jars) plus RssShmem (pages of the shared-memory pool this process has touched).
 */
public record ProcStatus(long vmRss, long rssAnon, long rssFile, long rssShmem)
{
    public static ProcStatus read(final long pid) throws IOException
    {
        long rss = -1;
        long anon = -1;
        long file = -1;
        long shmem = -1;
        for (final String line : Files.readAllLines(Path.of("/proc/" + pid + "/status")))
        {
            if (line.startsWith("VmRSS:"))
            {
                rss = kib(line);
            }
            else if (line.startsWith("RssAnon:"))
            {
                anon = kib(line);
            }
            else if (line.startsWith("RssFile:"))
            {
                file = kib(line);
            }
            else if (line.startsWith("RssShmem:"))
            {
                shmem = kib(line);
            }
        }
        if (rss < 0)
        {
            throw new IOException("/proc/" + pid + "/status has no VmRSS line");
        }
        return new ProcStatus(rss, anon, file, shmem);
    }

    private static long kib(final String line)
    {
        final String[] parts = line.trim().split("\\s+");
        return Long.parseLong(parts[1]) * 1024;
    }
}
