def by_object_type(activity):
    """Group by the model label of the object reference."""
    return str(activity.get("object", "")).split(":")[0]
