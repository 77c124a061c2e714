package io.ds4j.system;

import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.client.DsClient;
import io.ds4j.client.ReadOnlyBuffer;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Issue 9: the Python client (python/) against real workers. The Python suite (python/tests, unittest) runs twice,
 * over shared memory and inline over TCP, and every Python test becomes a JUnit test of its own, so the Python tests
 * count in the run's result. Java and Python share keys both ways through shared memory; a Python program keeps
 * views open across a worker restart.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class PythonClientTest
{
    private static final Path PYTHON_DIR = Path.of("..", "python").toAbsolutePath().normalize();
    private static final List<String> JAVA_KEYS = List.of("java-to-py-small=100", "java-to-py-large=3145728");
    private static final String PY_PREFIX = "py-to-java-";

    @TestFactory
    List<DynamicTest> thePythonSuitePassesAgainstARealWorker() throws Exception
    {
        final String python = python();
        final List<DynamicTest> tests = new ArrayList<>();
        try (WorkerProcess worker = WorkerProcess.start("shared_memory_size_mb", "1024");
             WorkerProcess spare = WorkerProcess.start("shared_memory_size_mb", "64");
             DsClient java = SystemTests.connect(worker, Transport.AUTO))
        {
            assertTrue(java.usesSharedMemory(), "the Java side must share keys through shared memory");
            for (final String item : JAVA_KEYS)
            {
                final String key = item.split("=")[0];
                java.kv().set(key, pattern(key, Integer.parseInt(item.split("=")[1])));
            }
            for (final String transport : List.of("auto", "tcp"))
            {
                final List<String[]> records = runSuite(python, worker, spare, transport);
                long passed = records.stream().filter(r -> r[0].equals("ok")).count();
                assertTrue(passed > 20, "only " + passed + " Python tests passed over " + transport);
                for (final String[] record : records)
                {
                    tests.add(DynamicTest.dynamicTest("python[" + transport + "] " + record[1], () ->
                    {
                        Assumptions.assumeFalse(record[0].equals("skip") && transport.equals("tcp"), record[2]);
                        assertEquals("ok", record[0], record[1] + ":\n" + record[2].replace("\\n", "\n"));
                    }));
                }
            }
            // what the Python client wrote, read by the Java client through the pool
            for (final Map.Entry<String, Integer> written : Map.of("small", 100, "large", 3 << 20, "created",
                1 << 20).entrySet())
            {
                final String key = PY_PREFIX + written.getKey();
                try (ReadOnlyBuffer view = java.kv().getBuffers(List.of(key), 0).getFirst())
                {
                    assertArrayEquals(pattern(key, written.getValue()), view.toByteArray(), key);
                }
            }
        }
        return tests;
    }

    @Test
    void viewsOpenAcrossAWorkerRestartNeverReadTheNewWorkersMemory() throws Exception
    {
        final String python = python();
        try (WorkerProcess worker = WorkerProcess.start("shared_memory_size_mb", "64"))
        {
            final ProcessBuilder builder = new ProcessBuilder(python, PYTHON_DIR.resolve("tests/restart_program.py")
                .toString()).redirectErrorStream(true);
            builder.environment().put("DS4J_HOST", worker.host());
            builder.environment().put("DS4J_PORT", Integer.toString(worker.port()));
            final Process program = builder.start();
            final BufferedReader out = new BufferedReader(new InputStreamReader(program.getInputStream(),
                StandardCharsets.UTF_8));
            final List<String> lines = new ArrayList<>();
            String line;
            while ((line = out.readLine()) != null && !line.equals("READY"))
            {
                lines.add(line);
            }
            assertEquals("READY", line, "the program did not get ready: " + lines);
            worker.kill9();
            worker.restart();
            try (Writer in = new OutputStreamWriter(program.getOutputStream(), StandardCharsets.UTF_8))
            {
                in.write("go\n");
            }
            while ((line = out.readLine()) != null)
            {
                lines.add(line);
            }
            assertTrue(program.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, program.exitValue(), String.join("\n", lines));
            assertTrue(lines.contains("PASSED"), String.join("\n", lines));
        }
    }

    private static List<String[]> runSuite(final String python, final WorkerProcess worker,
        final WorkerProcess spare, final String transport) throws IOException, InterruptedException
    {
        final Path results = Files.createTempFile("ds4j-python-", ".tsv");
        final ProcessBuilder builder = new ProcessBuilder(python, PYTHON_DIR.resolve("tests/run_suite.py").toString(),
            results.toString()).redirectErrorStream(true);
        final Map<String, String> env = builder.environment();
        env.put("DS4J_HOST", worker.host());
        env.put("DS4J_PORT", Integer.toString(worker.port()));
        env.put("DS4J_TRANSPORT", transport);
        env.put("PYTHONDONTWRITEBYTECODE", "1");
        if (transport.equals("auto"))
        {
            // the spare worker is killed by the seed 000 test; the interop keys are checked over shared memory
            env.put("DS4J_SPARE_PORT", Integer.toString(spare.port()));
            env.put("DS4J_SPARE_PID", Long.toString(spare.pid()));
            env.put("DS4J_JAVA_KEYS", String.join(",", JAVA_KEYS));
            env.put("DS4J_PY_PREFIX", PY_PREFIX);
        }
        final Process process = builder.start();
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(5, TimeUnit.MINUTES), "the Python suite did not finish");
        System.out.println("python suite over " + transport + ":\n" + output);
        final List<String[]> records = new ArrayList<>();
        for (final String record : Files.readAllLines(results, StandardCharsets.UTF_8))
        {
            records.add(record.split("\t", 3));
        }
        Files.deleteIfExists(results);
        if (records.isEmpty())
        {
            fail("the Python suite ran no test (exit " + process.exitValue() + "):\n" + output);
        }
        return records;
    }

    /** python3 from DS4J_PYTHON or PATH; the tests are skipped, with the reason printed, only where there is none. */
    private static String python()
    {
        final String configured = System.getenv("DS4J_PYTHON");
        if (configured != null && !configured.isBlank())
        {
            return configured;
        }
        final List<Path> candidates = new ArrayList<>();
        for (final String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
        {
            if (!dir.isEmpty())
            {
                candidates.add(Path.of(dir, "python3"));
            }
        }
        candidates.add(Path.of("/usr/bin/python3"));
        candidates.add(Path.of("/usr/local/bin/python3"));
        for (final Path candidate : candidates)
        {
            if (Files.isExecutable(candidate) && works(candidate.toString()))
            {
                return candidate.toString();
            }
        }
        final String reason = "no python3 on this machine (PATH, /usr/bin, /usr/local/bin): the Python client's"
            + " tests are skipped; bin/run-tests installs python3 on Debian-like machines";
        System.out.println(reason);
        Assumptions.abort(reason);
        return null;
    }

    private static boolean works(final String python)
    {
        try
        {
            final Process p = new ProcessBuilder(python, "-c", "import mmap, ctypes, sys; assert sys.version_info >="
                + " (3, 9)").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        }
        catch (final IOException | InterruptedException e)
        {
            return false;
        }
    }

    /** The bytes python/tests/support.py's pattern makes: byte i = (i * 31 + key length) & 0xFF. */
    static byte[] pattern(final String key, final int size)
    {
        final byte[] bytes = new byte[size];
        for (int i = 0; i < size; i++)
        {
            bytes[i] = (byte) ((i * 31 + key.length()) & 0xFF);
        }
        return bytes;
    }
}
