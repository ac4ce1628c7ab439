using System.Globalization;
using Microsoft.AspNetCore.Http.Metadata;

namespace TaskManager.Api.Http;

/// <summary>
/// Refuses an optional number or boolean in the query that does not parse (<c>limit=abc</c>, <c>limit=</c>) the way
/// the runtime binder does: <c>Failed to bind parameter "Nullable&lt;int&gt; limit" from "abc".</c>, a problem that names
/// the parameter. The compile-time binder that Native AOT builds use answers such a value with a bare 400 and reads an
/// empty one as absent (RequestDelegateGenerator's EndpointParameterEmitter); checking first keeps every build alike.
/// </summary>
public static class QueryBinding
{
    /// <summary>The value types our handlers take from the query, by their C# names as the runtime binder prints them.</summary>
    private static readonly Dictionary<Type, (string Name, Func<string, bool> Parses)> Parsable = new()
    {
        [typeof(int)] = ("int", text => int.TryParse(text, CultureInfo.InvariantCulture, out _)),
        [typeof(long)] = ("long", text => long.TryParse(text, CultureInfo.InvariantCulture, out _)),
        [typeof(bool)] = ("bool", text => bool.TryParse(text, out _)),
    };

    /// <summary>After authorization, as binding is: a caller without a token hears 401, not what was wrong with the query.</summary>
    public static WebApplication UseQueryBindingCheck(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            foreach (var parameter in context.GetEndpoint()?.Metadata.GetOrderedMetadata<IParameterBindingMetadata>() ?? [])
            {
                var type = parameter.ParameterInfo.ParameterType;
                var nullableOf = Nullable.GetUnderlyingType(type);
                if (parameter.IsOptional && Parsable.TryGetValue(nullableOf ?? type, out var parsable)
                    && context.Request.Query.TryGetValue(QueryParameters.NameOf(parameter), out var value) && !parsable.Parses(value.ToString()))
                {
                    var typeName = nullableOf is null ? parsable.Name : $"Nullable<{parsable.Name}>";
                    throw new BadHttpRequestException($"Failed to bind parameter \"{typeName} {QueryParameters.NameOf(parameter)}\" from \"{value}\".");
                }
            }
            return next(context);
        });
        return app;
    }
}
