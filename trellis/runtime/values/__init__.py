"""Field values below the records service: coercion from JSON and text to each field's type and
back (`coercion`), and the fast yes/no check before JSON Schema (`fastcheck`). The query
compiler and the compiled registry use them too, so they sit beneath records."""
