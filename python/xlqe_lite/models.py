class ModelError(Exception):
    pass
class ModelMissingError(ModelError):
    pass
class ModelCorruptError(ModelError):
    pass
