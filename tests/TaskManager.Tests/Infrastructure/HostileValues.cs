using System.Text;

namespace TaskManager.Tests.Infrastructure;

/// <summary>
/// Building blocks of fuzzed requests: JSON values of every wrong kind, hostile text and broken bytes. Values are raw JSON
/// text, so that numbers no .NET type holds (1e400) and escapes no string holds (a lone surrogate) reach the server.
/// </summary>
public static class HostileValues
{
    public static readonly string[] Json =
    [
        "null", "true", "false", "0", "-1", "1.5", "-0", "1e400", "-1e400", "123456789012345678901234567890", "2147483648",
        "\"\"", "\" \"", "\"\\u0000\"", "\"a\\u202Eb\"", "\"\\u2066x\\u2069\"", "\"\\ud800\"", "\"\\udc00x\"", "\"\\uffff\"",
        "\"\\ufeff\"", "\"\\u200b\"", "\"\\udb40\\udc41\"", "\"\\u0007\\u001b[31m\"", "\"\\u0085\"", "\"line\\nbreak\"",
        "\"\\ud83d\\udc69\\u200d\\ud83d\\udcbb\"", "\"%FF%00\"", "\"../../etc/passwd\"", "\"' OR 1=1 --\"", "\"<script>alert(1)</script>\"",
        "\"NaN\"", "\"Infinity\"", "\"2026-02-30\"", "\"9999-12-31T23:59:59Z\"", "\"WEB-0\"", "\"WEB-99999999999\"",
        "[]", "{}", "[null]", "[1,2,3]", "[\"a\",{}]", "{\"a\":1}", "[[[]]]",
    ];

    /// <summary>A value from <see cref="Json"/> or a generated one: long, deeply nested or a large array.</summary>
    public static string Value(Random random) => random.Next(10) switch
    {
        0 => Nested(random.Next(2) == 0 ? 70 : 2_000),
        1 => "[" + string.Join(',', Enumerable.Range(0, random.Next(2) == 0 ? 1_000 : 10_000).Select(i => i % 3 == 0 ? $"\"l{i}\"" : "\"x\"")) + "]",
        2 => System.Text.Json.JsonSerializer.Serialize(new string('w', random.Next(2) == 0 ? 300 : 70_000)),
        3 => System.Text.Json.JsonSerializer.Serialize(Text(random, random.Next(1, 40))),
        _ => Json[random.Next(Json.Length)],
    };

    public static string Nested(int depth) =>
        depth % 2 == 0
            ? new string('[', depth) + new string(']', depth)
            : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);

    /// <summary>Text of arbitrary code points (controls, bidi, astral, unassigned), never a lone surrogate.</summary>
    public static string Text(Random random, int length)
    {
        var text = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            var value = random.Next(6) switch
            {
                0 => random.Next(0, 0x20),
                1 => random.Next(0x80, 0xA0),
                2 => random.Next(0x2000, 0x2070),
                3 => random.Next(0x10000, 0x10FFFF),
                4 => random.Next(0x20, 0x7F),
                _ => random.Next(0xA0, 0xD800),
            };
            text.Append(char.ConvertFromUtf32(value));
        }
        return text.ToString();
    }

    public static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>A path segment or query value: percent-encoded random bytes, or hostile text.</summary>
    public static string UrlPart(Random random) => random.Next(6) switch
    {
        0 => string.Concat(Bytes(random, random.Next(1, 12)).Select(b => $"%{b:X2}")),
        1 => Uri.EscapeDataString(Text(random, random.Next(1, 20))),
        2 => new string('x', random.Next(2) == 0 ? 300 : 5_000),
        3 => Uri.EscapeDataString(new[] { "-1", "0", "1e400", "99999999999999999999", "NaN", "true", "WEB--1", "a-1", ".." }[random.Next(9)]),
        4 => "%" + (char)('G' + random.Next(10)) + "1",
        _ => "%C0%AF%ED%A0%80%F4%90%80%80",
    };

    /// <summary>The JSON text with a problem only a parser sees: cut short, a byte changed, or bytes inserted.</summary>
    public static byte[] Corrupt(Random random, byte[] json)
    {
        var at = random.Next(json.Length);
        switch (random.Next(3))
        {
            case 0:
                return json[..at];
            case 1:
                var changed = json.ToArray();
                changed[at] = (byte)random.Next(256);
                return changed;
            default:
                return [.. json[..at], .. Bytes(random, random.Next(1, 8)), .. json[at..]];
        }
    }
}
