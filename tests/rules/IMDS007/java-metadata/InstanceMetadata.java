package com.example.ident;

import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;

/** Reads the instance id the IMDSv1 way. */
public final class InstanceMetadata {
    public static String instanceId() throws Exception {
        try (InputStream in = new URL("http://169.254.169.254/latest/meta-data/instance-id").openStream()) { // imds-expect: IMDS007@31
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
