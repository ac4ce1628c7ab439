namespace TaskManager.Api.Comments;

public static class CommentsExtensions
{
    public static WebApplicationBuilder AddComments(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<CommentStore>();
        return builder;
    }
}
