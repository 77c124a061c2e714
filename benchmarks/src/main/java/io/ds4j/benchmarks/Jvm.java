package io.ds4j.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;

/** Facts about the running JVM that child processes reuse. */
final class Jvm
{
    private Jvm()
    {
    }

    /** The java executable running this JVM, so children get the same JDK. */
    static String javaExecutable()
    {
        final Path fromHome = Path.of(System.getProperty("java.home"), "bin", "java");
        if (Files.isExecutable(fromHome))
        {
            return fromHome.toString();
        }
        return ProcessHandle.current().info().command().orElse("java");
    }

    /** The jcmd next to this JVM's java, or null. */
    static Path jcmd()
    {
        final Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        return Files.isExecutable(jcmd) ? jcmd : null;
    }
}
