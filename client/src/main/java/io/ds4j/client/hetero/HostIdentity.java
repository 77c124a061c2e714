package io.ds4j.client.hetero;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Which host (and pid namespace) this process runs on, as device objects name it: an IPC handle opens only on the
 * host that made it, and the host implementation's handles ({@code /proc/<pid>/fd/<fd>}) only in the same pid
 * namespace. The boot id changes with every boot, so a record that outlived a reboot never matches.
 */
final class HostIdentity
{
    private static final String ID = compute();

    private HostIdentity()
    {
    }

    static String id()
    {
        return ID;
    }

    private static String compute()
    {
        // tests pretend to be another host with it
        final String forced = System.getProperty("ds4j.hostId");
        if (forced != null && !forced.isBlank())
        {
            return forced;
        }
        String boot;
        try
        {
            boot = Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip();
        }
        catch (final IOException e)
        {
            boot = "host-" + ProcessHandle.current().pid();
        }
        String pidNamespace;
        try
        {
            pidNamespace = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString();
        }
        catch (final IOException | UnsupportedOperationException e)
        {
            pidNamespace = "pid:[?]";
        }
        return boot + "/" + pidNamespace;
    }
}
