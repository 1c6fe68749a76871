from django import forms

from example_project.social.models import POST_MAX_LENGTH, Post


class PostForm(forms.ModelForm):
    text = forms.CharField(
        max_length=POST_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What's happening?", "maxlength": POST_MAX_LENGTH}),
        label="New post",
    )

    class Meta:
        model = Post
        fields = ["text"]
