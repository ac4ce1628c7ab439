using System.Text.Json;
using System.Text.Json.Serialization;

namespace TaskManager.Api.Http;

/// <summary>
/// A field of a partial update: absent (leave as is) or present with a value, which may be null (clear it).
/// </summary>
[JsonConverter(typeof(OptionalConverterFactory))]
public readonly record struct Optional<T>(T Value)
{
    public bool IsSet { get; } = true;

    public static implicit operator Optional<T>(T value) => new(value);
}

public sealed class OptionalConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(Optional<>);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(OptionalConverter<>).MakeGenericType(typeToConvert.GetGenericArguments()[0]))!;

    private sealed class OptionalConverter<T> : JsonConverter<Optional<T>>
    {
        // Called for an explicit null too, so that "field": null means "clear it".
        public override bool HandleNull => true;

        public override Optional<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            // Reading through T's own converter (not a nested Deserialize) keeps the error path, e.g. $.status.
            new(reader.TokenType == JsonTokenType.Null ? default! : ((JsonConverter<T>)options.GetConverter(typeof(T))).Read(ref reader, typeof(T), options)!);

        public override void Write(Utf8JsonWriter writer, Optional<T> value, JsonSerializerOptions options) =>
            ((JsonConverter<T>)options.GetConverter(typeof(T))).Write(writer, value.Value, options);
    }
}

/// <summary>Enum values as snake_case strings, refusing numbers: <c>"status": 2</c> is an error, not "review".</summary>
public sealed class StrictEnumConverter<T>() : JsonStringEnumConverter<T>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false)
    where T : struct, Enum;

/// <summary>
/// Refuses NUL characters in JSON strings: PostgreSQL text cannot hold them, and the error should name the field.
/// </summary>
public sealed class NoNulStringConverter : JsonConverter<string>
{
    public const string Message = "Text must not contain NUL (\\u0000) characters.";

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var value = reader.GetString();
        return value is not null && value.Contains('\0') ? throw new JsonException(Message) : value;
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

    // Dictionary keys (e.g. the field names of a validation problem's errors) go through these: without them, writing
    // any string-keyed dictionary throws.
    public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Read(ref reader, typeToConvert, options) ?? "";

    public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) =>
        writer.WritePropertyName(value);
}
