package io.ds4j.cli;

import io.ds4j.worker.config.WorkerFlag;
import io.ds4j.worker.config.WorkerFlags;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Flag merging and checking of {@code dscli start}, and the worker command line {@link WorkerLauncher} builds. */
class StartFlagsTest
{
    @Test
    void defaultsAreUsedWhenNothingIsGiven()
    {
        assertEquals(WorkerFlags.defaults(), StartCommand.mergeFlags(Map.of(), List.of()));
    }

    @Test
    void fileOverridesDefaultsAndCommandLineOverridesFile()
    {
        final Map<String, String> file = Map.of("shared_memory_size_mb", "256", "max_client_num", "7");
        final Map<String, String> merged = StartCommand.mergeFlags(file,
            List.of("--shared_memory_size_mb", "64", "--v=2"));
        assertEquals("64", merged.get("shared_memory_size_mb"), "command line beats the file");
        assertEquals("7", merged.get("max_client_num"), "the file beats the default");
        assertEquals("2", merged.get("v"));
        assertEquals(WorkerFlags.find("heartbeat_interval_ms").defaultValue(), merged.get("heartbeat_interval_ms"));
    }

    @Test
    void commandLineSetToTheDefaultStillBeatsTheFile()
    {
        final String fallback = WorkerFlags.find("max_client_num").defaultValue();
        final Map<String, String> merged = StartCommand.mergeFlags(Map.of("max_client_num", "7"),
            List.of("--max_client_num=" + fallback));
        assertEquals(fallback, merged.get("max_client_num"));
    }

    @Test
    void unknownFlagNamesItAndSuggestsTheClosestOne()
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> StartCommand.mergeFlags(Map.of(), List.of("--shared_memory_size", "64")));
        assertTrue(e.getMessage().contains("--shared_memory_size"), e.getMessage());
        assertTrue(e.getMessage().contains("did you mean --shared_memory_size_mb"), e.getMessage());
    }

    @Test
    void badValueNamesTheFlagAndTheValue()
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> StartCommand.mergeFlags(Map.of(), List.of("--shared_memory_size_mb", "lots")));
        assertTrue(e.getMessage().contains("shared_memory_size_mb"), e.getMessage());
        assertTrue(e.getMessage().contains("lots"), e.getMessage());
        final IllegalArgumentException address = assertThrows(IllegalArgumentException.class,
            () -> StartCommand.mergeFlags(Map.of(), List.of("--worker_address=nowhere")));
        assertTrue(address.getMessage().contains("host:port"), address.getMessage());
    }

    @Test
    void relativePathsResolveAgainstTheHomeDirectory()
    {
        final Path home = Path.of("/srv/ds4j-home");
        final Map<String, String> resolved = WorkerLauncher.resolve(Map.of("log_dir", "./mylogs",
            "unix_domain_socket_dir", "/run/ds4j"), home);
        assertEquals("/srv/ds4j-home/mylogs", resolved.get("log_dir"));
        assertEquals("/run/ds4j", resolved.get("unix_domain_socket_dir"), "absolute paths stay");
        assertEquals("/srv/ds4j-home/datasystem/probe/ready", resolved.get("ready_check_path"), "defaults too");
        for (final WorkerFlag flag : WorkerFlags.all())
        {
            if (flag.kind() == WorkerFlag.Kind.PATH && !resolved.get(flag.name()).isEmpty())
            {
                assertTrue(Path.of(resolved.get(flag.name())).isAbsolute(), flag.name());
            }
        }
    }

    @Test
    void resolveRejectsUnknownFlagsWithWorkerFlagsWording()
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> WorkerLauncher.resolve(Map.of("log_dri", "x"), Path.of("/tmp")));
        assertTrue(e.getMessage().contains("unknown worker flag --log_dri"), e.getMessage());
        assertTrue(e.getMessage().contains("did you mean --log_dir"), e.getMessage());
    }

    @Test
    void commandLineAlwaysNamesTheAddressAndOnlyChangedFlags()
    {
        final Map<String, String> resolved = WorkerLauncher.resolve(Map.of("max_client_num", "9"), Path.of("/h"));
        final List<String> command = WorkerLauncher.command(resolved, "/a.jar:/b.jar", Path.of("/jdk/bin/java"));
        assertTrue(command.contains("/jdk/bin/java"));
        assertTrue(command.contains("--enable-native-access=ALL-UNNAMED"));
        assertEquals(WorkerLauncher.DEFAULT_JVM_OPTIONS, command.subList(command.indexOf("/jdk/bin/java") + 2,
            command.indexOf("/jdk/bin/java") + 2 + WorkerLauncher.DEFAULT_JVM_OPTIONS.size()),
            "the default JVM options follow the native access flag, before the user's and the class path");
        assertEquals("/a.jar:/b.jar", command.get(command.indexOf("-cp") + 1));
        assertTrue(command.contains(WorkerLauncher.MAIN_CLASS));
        assertTrue(command.contains("--worker_address=" + WorkerFlags.find("worker_address").defaultValue()),
            "the default address is passed anyway: dscli stop finds the worker by it");
        assertTrue(command.contains("--max_client_num=9"));
        assertTrue(command.contains("--log_dir=/h/datasystem/logs"));
        assertFalse(command.stream().anyMatch(arg -> arg.startsWith("--heartbeat_interval_ms")));
        final List<String> workerArgs = command.subList(command.indexOf(WorkerLauncher.MAIN_CLASS) + 1,
            command.size());
        assertEquals(resolved, WorkerFlags.parse(workerArgs), "the worker parses back exactly these flags");
        assertTrue(WorkerLauncher.isWorkerFor(command, resolved.get("worker_address")));
        assertFalse(WorkerLauncher.isWorkerFor(command, "127.0.0.1:1"));
    }
}
